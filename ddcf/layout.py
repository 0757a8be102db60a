"""The directory convention: every path a stage reads or writes, in one place.

The work directory defaults to the current directory (the repository root when
you follow the README) and is overridden with ``--workdir`` or the
``DDCF_WORKDIR`` environment variable.  The names ``DDCF_data/`` and
``factorized_data/`` follow the reference method's published layout.

    <workdir>/
      DDCF_data/
        model_order.csv                 model_id, model (+ stats) of the correctness matrix
        seed/questions.parquet          question_id, question, gold, dataset
        corpus/questions.parquet        question_id, question, response, answer, dataset
        verdicts/<model>.parquet        one verified completion table per model (stage 1)
        verdicts/<model>.passrate.parquet  pass rates of sampled generation (stage 1, --n > 1)
        verify_summary.parquet          per-model accuracy of the last verification
        generations/<model>/            sharded raw completions while generating (stage 1)
        correctness/matrix.parquet      long matrix: model_id, model, question_id, correct, dataset, split
        correctness/train.parquet       the training rows of it
        correctness/val.parquet         the validation rows of it
        correctness/test.parquet        the test rows of it (reported only; empty with --test_ratio 0)
        embeddings/{seed,corpus}.npy    (+ .json manifest, + .ids.parquet)
        predictor/                      model.safetensors, config.json, metrics.json, training_curve.png,
                                        reliability.png; previous/ (before the last `ddcf probe fit`)
        probe/<model>.txt               probe question list (`ddcf probe plan`); budget/ (`ddcf probe budget`)
        selection/<model>/<run>/        selection.parquet, dataset/, report.json, *.png
        report/<name>/                  index.html, report.md, report.json, *.png of `ddcf report`
        cache/projection/<key>.npy      the corpus's 2-D map (+ .ids.parquet, .json), cached by `ddcf report`
        scores/<model>/                 scores.parquet (+ shards/): token log-probs of the corpus responses
        sft/<model>/<run>/              fine-tuned model, checkpoint-N/, sft_report.json, eval/ (stage 7)
        push/<kind>/<repo>/             the folder and README card `ddcf push` uploads (all of --dry_run)
        <folder>/<stage>.config.yaml    the options a stage ran with, beside its outputs (--config repeats it)
      factorized_data/
        <model>.parquet                 question_id, predicted_correctness (stage 5)
        <model>.hist.png                histogram of it
        question_embeddings.npy         factorized corpus question embeddings (optional)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ddcf.errors import DDCFError
from ddcf.names import safe_name

WORKDIR_ENV = "DDCF_WORKDIR"
PASSRATE_SUFFIX = ".passrate.parquet"


def default_workdir() -> Path:
    return Path(os.environ.get(WORKDIR_ENV) or ".").resolve()


@dataclass(frozen=True)
class Layout:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def from_arg(cls, workdir: str | os.PathLike | None) -> "Layout":
        return cls(Path(workdir).resolve() if workdir else default_workdir())

    @property
    def workdir_option(self) -> str:
        """`` --workdir ROOT`` (shell-quoted) when a command run from here would not find this work directory by
        default, else "": printed "next:" commands append it so they run as printed."""
        import shlex

        if Path(self.root).resolve() == default_workdir():
            return ""
        return f" --workdir {shlex.quote(str(self.root))}"

    # ---- top-level folders
    @property
    def data(self) -> Path:
        return self.root / "DDCF_data"

    @property
    def factorized(self) -> Path:
        return self.root / "factorized_data"

    # ---- questions
    @property
    def model_order(self) -> Path:
        return self.data / "model_order.csv"

    @property
    def seed_questions(self) -> Path:
        return self.data / "seed" / "questions.parquet"

    @property
    def corpus_questions(self) -> Path:
        return self.data / "corpus" / "questions.parquet"

    # ---- stage 1
    @property
    def verdicts_dir(self) -> Path:
        return self.data / "verdicts"

    def verdicts(self, model: str) -> Path:
        return self.verdicts_dir / f"{safe_name(model)}.parquet"

    @property
    def generations_dir(self) -> Path:
        return self.data / "generations"

    def generations(self, model: str) -> Path:
        return self.generations_dir / safe_name(model)

    def generation_run_config(self, model: str) -> Path:
        """The settings a model's shards were generated with (a resume must match them)."""
        return self.generations(model) / "run_config.json"

    def generation_verified(self, model: str) -> Path:
        return self.generations(model) / "verified.json"

    def generation_summary(self, model: str) -> Path:
        return self.generations(model) / "run_summary.json"

    def passrates(self, model: str) -> Path:
        return self.verdicts_dir / f"{safe_name(model)}{PASSRATE_SUFFIX}"

    @property
    def verify_summary(self) -> Path:
        return self.data / "verify_summary.parquet"

    @property
    def verify_cache(self) -> Path:
        return self.data / "cache" / "verify_cache.parquet"

    # ---- stage 2
    @property
    def correctness_dir(self) -> Path:
        return self.data / "correctness"

    @property
    def matrix(self) -> Path:
        return self.correctness_dir / "matrix.parquet"

    @property
    def train_split(self) -> Path:
        return self.correctness_dir / "train.parquet"

    @property
    def val_split(self) -> Path:
        return self.correctness_dir / "val.parquet"

    @property
    def test_split(self) -> Path:
        return self.correctness_dir / "test.parquet"

    # ---- stage 3
    @property
    def embeddings_dir(self) -> Path:
        return self.data / "embeddings"

    @property
    def seed_embeddings(self) -> Path:
        return self.embeddings_dir / "seed.npy"

    @property
    def corpus_embeddings(self) -> Path:
        return self.embeddings_dir / "corpus.npy"

    @property
    def embedding_shards(self) -> Path:
        return self.embeddings_dir / "shards"

    # ---- stage 4
    @property
    def predictor_dir(self) -> Path:
        return self.data / "predictor"

    @property
    def predictor_weights(self) -> Path:
        return self.predictor_dir / "model.safetensors"

    @property
    def predictor_config(self) -> Path:
        return self.predictor_dir / "config.json"

    @property
    def predictor_metrics(self) -> Path:
        return self.predictor_dir / "metrics.json"

    @property
    def predictor_curve(self) -> Path:
        return self.predictor_dir / "training_curve.png"

    @property
    def predictor_reliability(self) -> Path:
        return self.predictor_dir / "reliability.png"

    @property
    def predictor_previous_dir(self) -> Path:
        """The predictor as it was before `ddcf probe fit` added a model (model.safetensors, config.json)."""
        return self.predictor_dir / "previous"

    # ---- `ddcf probe`: question lists for infer.py --questions
    @property
    def probe_dir(self) -> Path:
        return self.data / "probe"

    def probe_questions(self, model: str) -> Path:
        """The probe list `ddcf probe plan --model_name M` writes (one question id a line, '#' header)."""
        return self.probe_dir / f"{safe_name(model)}.txt"

    # ---- stage 5
    def difficulty(self, model: str) -> Path:
        return self.factorized / f"{safe_name(model)}.parquet"

    def difficulty_histogram(self, model: str) -> Path:
        return self.factorized / f"{safe_name(model)}.hist.png"

    @property
    def factorized_embeddings(self) -> Path:
        return self.factorized / "question_embeddings.npy"

    # ---- stage 6: one folder per run; the file names inside are the same for every selector
    def selection_dir(self, model: str, lamda: float, k: int, redundancy: str = "floor") -> Path:
        """A ddcf selection's folder; the non-default eq.-5 redundancy gets its own (a signed run must not replace
        the floor run of the same lamda and k)."""
        tail = "" if redundancy == "floor" else f"_{redundancy}"
        return self.data / "selection" / safe_name(model) / f"lamda{lamda:g}_k{k}{tail}"

    def selection_method_dir(self, model: str, method: str, k: int, tag: str = "") -> Path:
        """The folder of a non-ddcf selector's run: <method>_k<k>[_<tag>] (ddcf keeps lamda<l>_k<k>)."""
        return self.data / "selection" / safe_name(model) / (f"{method}_k{k}" + (f"_{tag}" if tag else ""))

    @staticmethod
    def selection_table(run_dir: Path) -> Path:
        return Path(run_dir) / "selection.parquet"

    @staticmethod
    def selection_dataset(run_dir: Path) -> Path:
        return Path(run_dir) / "dataset"

    @staticmethod
    def selection_report(run_dir: Path) -> Path:
        return Path(run_dir) / "report.json"

    @staticmethod
    def selection_plot(run_dir: Path) -> Path:
        return Path(run_dir) / "report.png"

    # ---- `ddcf distill`: teacher responses for a selection, inside the selection's folder
    @staticmethod
    def distill_dir(run_dir: Path) -> Path:
        return Path(run_dir) / "distilled"

    @staticmethod
    def distill_dataset(run_dir: Path) -> Path:
        """The SFT-ready dataset (same columns as the selection's dataset/), for train/sft.py --train_file_path."""
        return Path(run_dir) / "distilled" / "dataset"

    @staticmethod
    def distill_shards(run_dir: Path) -> Path:
        return Path(run_dir) / "distilled" / "shards"

    @staticmethod
    def distill_report(run_dir: Path) -> Path:
        """Provenance (teacher, options, acceptance rate) and the teacher-token cost saved."""
        return Path(run_dir) / "distilled" / "distill.json"

    # ---- `ddcf report`: figures + index.html of one or several selections, and the corpus's cached 2-D map
    @property
    def reports_dir(self) -> Path:
        return self.data / "report"

    def report_dir(self, name: str) -> Path:
        return self.reports_dir / safe_name(name)

    def projection_cache(self, key: str) -> Path:
        """2-D coordinates of every corpus embedding (.npy + .ids.parquet + .json manifest), one file per key
        (corpus embeddings manifest hash + method + parameters), so a corpus is projected once."""
        return self.data / "cache" / "projection" / f"{safe_name(key)}.npy"

    # ---- stage 7: supervised fine-tuning of the target model on one selection run
    def sft_dir(self, model: str, lamda: float, k: int) -> Path:
        """Checkpoints, the fine-tuned model (in the folder itself, as TRL saves it) and sft_report.json; named
        like the selection run it trains on."""
        return self.data / "sft" / safe_name(model) / self.selection_dir(model, lamda, k).name

    @staticmethod
    def sft_report(run_dir: Path) -> Path:
        """Written last: its presence means the fine-tuning run finished."""
        return Path(run_dir) / "sft_report.json"

    @staticmethod
    def sft_run_config(run_dir: Path) -> Path:
        """The settings a run's checkpoints were trained with (a resume must match them)."""
        return Path(run_dir) / "sft_run_config.json"

    @staticmethod
    def sft_eval_dir(run_dir: Path) -> Path:
        """Where train/run.sh evaluates the fine-tuned model of ``run_dir``."""
        return Path(run_dir) / "eval"

    # ---- evaluation (eval/evaluate.py): one folder per evaluated model, one per comparison
    def eval_dir(self, model: str) -> Path:
        """Default --output_dir of an evaluation of ``model``."""
        return self.data / "eval" / safe_name(model)

    def compare_dir(self) -> Path:
        return self.data / "eval" / "compare"

    @staticmethod
    def eval_shards(run_dir: Path, benchmark: str) -> Path:
        """Sharded completions of one benchmark (resumable) and its run_config.json."""
        return Path(run_dir) / "shards" / benchmark

    @staticmethod
    def eval_predictions(run_dir: Path) -> Path:
        return Path(run_dir) / "predictions.parquet"

    @staticmethod
    def eval_results(run_dir: Path, ext: str) -> Path:
        """results.md / results.csv (Table 2 layout) and results.json (every metric, provenance)."""
        return Path(run_dir) / f"results.{ext}"

    @staticmethod
    def compare_plot(out_dir: Path) -> Path:
        return Path(out_dir) / "comparison.png"

    # ---- `ddcf score`: the target's token log-probabilities of every corpus response (perplexity selectors)
    def scores_dir(self, model: str) -> Path:
        return self.data / "scores" / safe_name(model)

    def score_shards(self, model: str) -> Path:
        """Resumable cache: one Parquet shard per scored block, rows keyed by (question id, text hash)."""
        return self.scores_dir(model) / "shards"

    def scores(self, model: str) -> Path:
        return self.scores_dir(model) / "scores.parquet"

    # ---- `ddcf probe budget`: which (model, question) pairs of the seed matrix to run under a budget
    @property
    def probe_budget_dir(self) -> Path:
        return self.data / "probe" / "budget"

    def probe_budget_list(self, model: str) -> Path:
        """One model's question list for ``infer.py --model_name M --questions FILE``."""
        return self.probe_budget_dir / f"{safe_name(model)}.txt"

    @property
    def probe_budget_plan(self) -> Path:
        """Every planned pair (model, question_id, part) and the summary beside it (plan.json)."""
        return self.probe_budget_dir / "plan.parquet"

    # ---- many per-model files written by one run
    @staticmethod
    def check_distinct_paths(models, path_fn) -> list[Path]:
        """``path_fn(m)`` for every model, refused (DDCFError) when two different models would share a file.

        ``safe_name`` is injective, but two names that differ only in case share one file on a case-insensitive
        file system (macOS, Windows), and a hand-made name could embed another name's hash suffix; a stage that
        writes one file per model calls this before writing any, so no model's output silently replaces another's.
        """
        seen: dict[str, str] = {}
        paths = []
        for model in dict.fromkeys(models):  # a model named twice is one file, not a clash
            path = Path(path_fn(model))
            other = seen.setdefault(str(path).casefold(), model)
            if other != model:
                raise DDCFError(
                    f"The models {other!r} and {model!r} would be written to the same file {path} (their file "
                    "names are equal or differ only in case, which a case-insensitive file system does not tell "
                    "apart).",
                    "rename one of the models (e.g. in the correctness table or model_order.csv) so that their "
                    "names differ by more than case, then rerun.",
                )
            paths.append(path)
        return paths

    # ---- what `ddcf push` stages (and, with --dry_run, only stages) before uploading: one folder per repo
    def push_dir(self, kind: str, repo_id: str) -> Path:
        return self.data / "push" / kind / safe_name(repo_id)

    # ---- the resolved options of a stage run, written beside its outputs (rerun with --config FILE)
    @staticmethod
    def resolved_config(folder: Path, stage: str) -> Path:
        return Path(folder) / f"{stage}.config.yaml"
