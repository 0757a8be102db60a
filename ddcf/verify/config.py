"""Options of stage 1's verify half (``infer.py --completions PATH``, ``ddcf verify``), as dataclasses.

:class:`VerifyOptions` holds what every grading run needs (the per-pair time limit and the
math-verify workers); the verify stage (:class:`VerifyConfig`) and the generate stage
(:class:`ddcf.generate.config.GenerateConfig`) both inherit it, so the options are written once.

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError
from ddcf.verify.answer_types import AUTO
from ddcf.verify.answer_types import REGISTRY as ANSWER_TYPES

#: seconds math-verify may spend on one (prediction, gold) pair: the one place this default is written
DEFAULT_TIMEOUT_S = 5.0

#: the graders: the released DDCF code's (ddcf.verify.reference) and ours
GRADERS = ("reference", "strict")
GRADER_HELP = (
    "Which grader decides correct/incorrect: reference = the released DDCF code's semantics (Qwen2.5-Math "
    "math_equal as its authors edited it: numbers within 1% relative, percent forms, Minerva normalisation, a "
    "prediction over 30 characters is wrong; answers from the last \\boxed{} or 'the answer is'), strict = "
    "this project's verifier (exact numbers, math-verify for expressions; on the bundled seed outputs 1.0 point "
    "stricter on MATH, 0.6 more lenient on GSM8K).")


@dataclass
class VerifyOptions(StageConfig):
    """Answer verification: the time limit per pair and the math-verify worker processes."""

    timeout: float = option(
        DEFAULT_TIMEOUT_S,
        "Hard time limit in seconds for checking one (prediction, gold) pair with math-verify; a pair that hits "
        "it counts as not correct (status 'timeout').",
        min_excl=0.0,
        metavar="SECONDS",
    )
    workers: int | None = option(
        None, "math-verify worker processes (default: one per usable CPU core).", min=1, metavar="N"
    )


@dataclass
class VerifyConfig(VerifyOptions):
    """Stage 1, verify: grade existing completions into one verdict table per model.

    Writes DDCF_data/verdicts/<model>.parquet, the seed question table and DDCF_data/verify_summary.parquet.
    A model whose verdict table already matches its completions and the verifier version is skipped, so an
    interrupted run resumes."""

    completions: str | None = option(
        None,
        "Parquet/CSV/JSONL table of existing completions with columns model, question_id, question, gold, "
        "completion (dataset optional: 'gsm8k'/'math'; inferred from the gold when absent; answer_type optional, "
        "see --answer_type). Required for this "
        "stage; infer.py without it runs the generation mode.",
        metavar="PATH",
    )
    models: list[str] = option(
        [],
        "Subset of the models in the completions table to verify, comma-separated or space-separated "
        "(default: all).",
        metavar="MODEL",
    )
    answer_type: str = option(
        "auto",
        "How answers are graded where a row has no 'answer_type' column value and its dataset implies none "
        "(gsm8k* and math* datasets are always math): math (numbers, LaTeX), choice (a letter A-J; gold a letter "
        "or an option's text), code_output (a Python literal, parsed safely, never run), exact (normalised "
        "string); auto = per dataset from its gold values: all Python literals (not only numbers) -> code_output, all "
        "option letters of the question's options -> choice, otherwise math (the summary says what it picked).",
        choices=(AUTO, *ANSWER_TYPES),
    )
    grader: str = option(
        "strict", GRADER_HELP + " Only math rows are graded by the reference grader; other answer types keep "
        "theirs.", choices=GRADERS)
    reverify: bool = option(
        False,
        "Verify again even where a verdict table for the same completions already exists (default: a model "
        "whose verdict table matches its completions and the verifier version is skipped; verified pairs come "
        "from the verify cache either way). In generation mode infer.py reads it as --regrade (deprecated there).",
    )

    def check(self) -> None:
        if not self.completions:
            raise DDCFError(
                "--completions is required: the verify stage grades an existing completions table.",
                "pass --completions PATH (e.g. data/bundled/seed_completions.parquet), or run the generation "
                "mode (infer.py --model_name M / ddcf generate).",
            )
