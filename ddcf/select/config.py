"""Options of stage 6 (k_greedy_selection.py / ``ddcf select``): the only place they are written."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.chat_format import REFERENCE  # the default template: the released code's format
from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError
from ddcf.runtime import check_device
from ddcf.select.methods import DEFAULT_METHOD, get_method, help_table

CHATML = "chatml"  # a built-in template of the dataset's text column (ddcf.select.sft_dataset)


@dataclass
class SelectConfig(StageConfig):
    """Pick k fine-tuning questions with one of several selectors (--method; default ddcf, paper eq. 5:
    repeatedly add the question with the smallest lamda * predicted_correctness + (1 - lamda) * max cosine
    similarity to the questions already picked, that max floored at 0 as in the released code; see --redundancy).
    Every method writes the same selection folder: the selection, an SFT-ready Hugging Face dataset and a report
    next to a random subset of the same pool."""

    method: str = option(
        DEFAULT_METHOD, "Selection method: " + help_table() + ". Options marked 'only for --method X' apply to X only.",
        metavar="NAME",
    )

    model_name: str | None = option(
        None, "Target model; reads factorized_data/<model>.parquet from fullcorpus_difficulty_estimation.py.",
        required=True, metavar="MODEL",
    )
    lamda: float = option(
        0.2, "Weight of predicted correctness vs diversity in [0, 1]: 1 = hardest first, 0 = most diverse; "
        "the paper uses 0.2.", min=0.0, max=1.0,
    )
    redundancy: str = option(
        "floor", "Only for --method ddcf: the redundancy term of the cost. 'floor' = max(0, largest cosine to the "
        "picks), as the released k_greedy_selection.py computes it (default); 'signed' = the largest cosine itself, "
        "eq. 5 as the paper writes it. They differ only for candidates whose every cosine to the picks is negative.",
        choices=("floor", "signed"),
    )
    num_select: int = option(1000, "Number of questions k to select.", min=1, max=1 << 31, metavar="K")
    max_score: float = option(
        1.0, "Candidate pool: only questions with predicted correctness <= this, in [0, 1] (1.0 keeps every question).",
        min=0.0, max=1.0,
    )
    pool: str | None = option(
        None, "Candidate pool: only these question ids (a .txt file, one id a line, or a .parquet/.csv with a "
        "question_id column); applied with --max_score, for every method.", metavar="FILE",
    )
    seed: int = option(0, "Seed of every random choice (the random methods, sampling, k-means) and of the random "
                       "k-subset the report shows next to the selection.", min=0, max=2**32 - 1)
    length_of: str = option(
        "response", "Only for --method longest: rank by the length of the question or of the response (tokens of "
        "--length_tokenizer when given, else whitespace-separated words).", choices=("question", "response"),
    )
    length_tokenizer: str | None = option(
        None, "Only for --method longest: local tokenizer folder whose tokens measure the length (default: "
        "whitespace-separated words).", metavar="DIR",
    )
    disf_mode: str = option(
        "batched", "Only for --method disf: 'batched' (as released: a separate greedy in every --disf_batch rows, "
        "its first pick a random row (--seed), then the row that least correlates the picks' embedding dimensions) "
        "or 'whole_pool' (one greedy over the whole pool minimising the Frobenius norm of the L2-normalised "
        "embeddings' second-moment matrix; --device applies).", choices=("batched", "whole_pool"),
    )
    disf_batch: int = option(
        1024, "Only for --method disf --disf_mode batched: rows per batch, in pool order (released: 1024); every "
        "batch gets its share of k, proportional to its size.", min=2, max=1 << 30, metavar="ROWS",
    )
    passrate_source: str = option(
        "predicted", "Only for --method passrate_band: 'predicted' (corpus questions, stage-5 predicted "
        "correctness) or 'measured' (seed questions, pass rates of infer.py --n K; their completions become the "
        "responses).", choices=("predicted", "measured"),
    )
    band: str | None = option(
        None, "Only for --method passrate_band (required there): the pass-rate band 'LO,HI' in [0, 1] (bounds: "
        "--band_bounds), or a bucket of ddcf.generate.passrate: impossible, 'very hard', hard, medium, easy, "
        "'very easy', perfect.", metavar="LO,HI|BUCKET",
    )
    band_bounds: str = option(
        "exclusive", "Only for --method passrate_band --band LO,HI: 'exclusive' keeps LO < pass rate < HI (as "
        "Reasoning360's run_filter.py, which drops pass rates <= --low_thresh and >= --high_thresh) or 'inclusive' "
        "LO <= pass rate <= HI.", choices=("exclusive", "inclusive"),
    )
    band_pick: str = option(
        "sample", "Only for --method passrate_band: how k are chosen inside the band: a seeded sample, the hardest "
        "(lowest pass rate) or the easiest first.", choices=("sample", "hardest", "easiest"),
    )
    crowd_weights: str = option(
        "1,1,1.5", "Only for --method crowd: weights of difficulty, separability and stability (comma-separated, "
        ">= 0; released: 1,1,1.5).", metavar="WD,WS,WT",
    )
    clusters: int = option(
        10, "Only for --method crowd: number of k-means clusters of the embeddings (capped at k); see --crowd_quota.",
        min=1, max=1 << 20,
    )
    crowd_quota: str = option(
        "equal", "Only for --method crowd: picks per cluster: 'equal' (k / clusters each, as released) or "
        "'proportional' to the cluster sizes (at least one each).", choices=("equal", "proportional"),
    )
    crowd_stability: str = option(
        "families", "Only for --method crowd: 'families' (as released: per model family, Spearman of the models' "
        "scores against their sizes, averaged) or 'accuracy' (Spearman, across all models, against their overall "
        "accuracy in model_order.csv).", choices=("families", "accuracy"),
    )
    crowd_families: str | None = option(
        None, "Only for --method crowd: .csv with model, family, size (billions) for the stability's families "
        "(default: read from the names, e.g. Qwen/Qwen3-8B-Base is family qwen/qwen3-*-base, size 8).",
        metavar="FILE",
    )
    ratings: str | None = option(
        None, "Only for --method ds2: ratings table (.parquet or .csv with question_id, rating; ratings are "
        "discrete scores, e.g. 0..5 from an LLM rater). Without it, --ds2_models gives the ratings.", metavar="FILE",
    )
    ds2_models: list[str] = option(
        [], "Only for --method ds2 without --ratings: models whose mean predicted correctness, binned into "
        "--ds2_bins scores (0 = every model right, i.e. easy ... bins-1 = hard), is the rating; default the target.",
        metavar="MODEL",
    )
    ds2_bins: int = option(5, "Only for --method ds2 without --ratings: number of score bins.", min=2, max=20)
    neighbours: int = option(
        10, "Only for --method ds2: k of the k-NN score votes (SimiFeat) and of the long-tail score (released: 10).",
        min=3, max=1000,
    )
    ds2_confidence: float = option(
        0.5, "Only for --method ds2: a question flagged as mis-rated takes its neighbours' suggested score only when "
        "the suggestion's confidence is at least this (released: 0.5).", min=0.0, max=1.0,
    )
    ds2_pool: str = option(
        "doubled", "Only for --method ds2: 'doubled' (as released: the pool concatenated with itself, so each "
        "question's twin is among its neighbours) or 'single' (each question once: the noise estimate HOC describes).",
        choices=("doubled", "single"),
    )
    device: str = option(
        "auto", "auto (CUDA through torch when available, else the exact lazy CPU selector), cpu, cuda or cuda:N; "
        "every device picks the same questions.",
    )
    kgreedy_shards: int = option(
        0, "Only for --method ddcf: split the candidate matrix over this many CPU worker processes (rows in shared "
        "memory; each keeps its own redundancy vector); picks identical to one process. 0 = one engine (--device).",
        min=0, max=4096, metavar="S",
    )
    kgreedy_devices: list[str] = option(
        [], "Only for --method ddcf: torch devices holding one shard of the candidate matrix each (e.g. "
        "cuda:0,cuda:1), for a matrix past one GPU's memory; picks identical to one device.", metavar="DEVICE",
    )
    stability: str = option(
        "none", "Only for --method ddcf: 'none' = one k-greedy on the table's predicted correctness (released); "
        "'consensus' = the same k-greedy on --consensus_draws noisy copies of it (the predictor's own spread), "
        "keeping the questions picked most often: far fewer picks change when the predictor is retrained with "
        "another seed (ddcf.select.consensus). Needs the factor predictor's predicted_correctness_se.",
        choices=("none", "consensus"),
    )
    consensus_draws: int = option(
        32, "Only for --stability consensus: k-greedy runs (the table's p plus draws-1 noisy copies, seeded by "
        "--seed); 1 = plain k-greedy.", min=1, max=1024, metavar="M",
    )
    consensus_noise: float = option(
        1.4142135623730951, "Only for --stability consensus: sd of each copy's noise in units of the members' "
        "standard error (sqrt(2): another retraining as the ensemble's spread predicts it).", min=0.0, max=100.0,
    )
    output_dir: str | None = option(
        None, "Where to write the outputs (default: DDCF_data/selection/<model>/lamda<l>_k<k> for --method ddcf, "
        "DDCF_data/selection/<model>/<method>_k<k>[_<options>] for the others).", metavar="DIR"
    )
    chat_template: str = option(
        REFERENCE, "Template of the dataset's text column (the SFT text): 'reference' (the released code's ChatML "
        "with its system prompt, response without an end marker), 'chatml' (plain ChatML turns) or the path of a "
        "Jinja chat template file.", metavar="reference|chatml|FILE",
    )
    tokenizer: str | None = option(
        None, "Local tokenizer folder whose own chat template renders the text column instead of --chat_template.",
        metavar="DIR",
    )

    def check(self) -> None:
        entry = get_method(self.method)  # an unknown name: one paragraph listing the methods
        check_device(self.device)
        if self.kgreedy_shards and self.kgreedy_devices:  # issue 24: one sharded backend at a time
            raise DDCFError("Both --kgreedy_shards and --kgreedy_devices were given.", "pass one of them.")
        self.kgreedy_devices = [check_device(d, "--kgreedy_devices") for d in self.kgreedy_devices]
        if self.stability != "none" and not entry.kgreedy:  # issue 23: a k-greedy option
            raise DDCFError(f"--stability {self.stability} applies to --method ddcf only.", "drop --stability.")
        entry.check_options(self)  # the method's own options (its registry entry)
        if self.output_dir:
            from ddcf.select.output import check_replaceable  # imports pandas: not for --help

            check_replaceable(self.output_dir)
        if self.tokenizer and self.chat_template != REFERENCE:
            raise DDCFError(
                "Both --tokenizer and --chat_template were given.",
                "pass one: --tokenizer uses the tokenizer's own chat template.",
            )
