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
        embeddings/{seed,corpus}.npy    (+ .json manifest, + .ids.parquet)
        predictor/                      model.safetensors, config.json, metrics.json
        selection/<model>/<run>/        selection.parquet, dataset/, report.json, *.png
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

    # ---- stage 5
    def difficulty(self, model: str) -> Path:
        return self.factorized / f"{safe_name(model)}.parquet"

    def difficulty_histogram(self, model: str) -> Path:
        return self.factorized / f"{safe_name(model)}.hist.png"

    @property
    def factorized_embeddings(self) -> Path:
        return self.factorized / "question_embeddings.npy"

    # ---- stage 6: one folder per run; the file names inside are the same for every selector
    def selection_dir(self, model: str, lamda: float, k: int) -> Path:
        return self.data / "selection" / safe_name(model) / f"lamda{lamda:g}_k{k}"

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
