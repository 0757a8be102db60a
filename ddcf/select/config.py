"""Options of stage 6 (k_greedy_selection.py / ``ddcf select``): the only place they are written."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError
from ddcf.runtime import check_device

CHATML = "chatml"  # the built-in template of the dataset's text column (ddcf.select.sft_dataset)


@dataclass
class SelectConfig(StageConfig):
    """Pick k corpus questions that are hard for the target model and diverse (paper eq. 5): repeatedly add
    the question with the smallest lamda * predicted_correctness + (1 - lamda) * max cosine similarity to the
    questions already picked. Writes the selection, an SFT-ready Hugging Face dataset and a report next to a
    random subset of the same pool."""

    model_name: str | None = option(
        None, "Target model; reads factorized_data/<model>.parquet from fullcorpus_difficulty_estimation.py.",
        required=True, metavar="MODEL",
    )
    lamda: float = option(
        0.2, "Weight of predicted correctness vs diversity in [0, 1]: 1 = hardest first, 0 = most diverse; "
        "the paper uses 0.2.", min=0.0, max=1.0,
    )
    num_select: int = option(1000, "Number of questions k to select.", min=1, max=1 << 31, metavar="K")
    max_score: float = option(
        1.0, "Candidate pool: only questions with predicted correctness <= this, in [0, 1] (1.0 keeps every question).",
        min=0.0, max=1.0,
    )
    seed: int = option(0, "Seed of the random k-subset the report shows next to the selection.", min=0,
                      max=2**32 - 1)
    device: str = option(
        "auto", "auto (CUDA through torch when available, else the exact lazy CPU selector), cpu, cuda or cuda:N; "
        "every device picks the same questions.",
    )
    output_dir: str | None = option(
        None, "Where to write the outputs (default: DDCF_data/selection/<model>/lamda<l>_k<k>).", metavar="DIR"
    )
    chat_template: str = option(
        CHATML, "Template of the dataset's text column: 'chatml' (built in) or the path of a Jinja chat template "
        "file.", metavar="chatml|FILE",
    )
    tokenizer: str | None = option(
        None, "Local tokenizer folder whose own chat template renders the text column instead of --chat_template.",
        metavar="DIR",
    )

    def check(self) -> None:
        check_device(self.device)
        if self.output_dir:
            from ddcf.select.output import check_replaceable  # imports pandas-free modules only

            check_replaceable(self.output_dir)
        if self.tokenizer and self.chat_template != CHATML:
            raise DDCFError(
                "Both --tokenizer and --chat_template were given.",
                "pass one: --tokenizer uses the tokenizer's own chat template.",
            )
