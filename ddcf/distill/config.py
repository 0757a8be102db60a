"""Options of ``ddcf distill SELECTION_DIR --teacher M``, as one dataclass (engine and sampling options from
:mod:`ddcf.runs.engine`).  Imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import option
from ddcf.errors import DDCFError
from ddcf.executors.options import ExecutorOptions
from ddcf.runs.engine import EngineOptions, SamplingOptions, overwrite_option, restate
from ddcf.verify.config import VerifyOptions

THINKING = ("auto", "on", "off")


@dataclass
class DistillConfig(VerifyOptions, EngineOptions, SamplingOptions, ExecutorOptions):
    """Select, then distill: a teacher model writes the responses of exactly the selected questions (the
    paper's Section 5, an unannotated corpus). Writes SELECTION_DIR/distilled/dataset (the SFT dataset, same
    columns as the selection's dataset/) and distilled/distill.json (teacher, options, acceptance rate, teacher
    tokens vs the whole corpus). Checkpointed in shards under distilled/shards: a killed run resumes."""

    selection_dir: str | None = option(
        None, "Folder of a finished selection (k_greedy_selection.py / ddcf select output: selection.parquet, "
        "report.json).", positional=True, required=True, metavar="SELECTION_DIR",
    )
    teacher: str | None = option(
        None, "Teacher model: a local folder or a Hugging Face Hub id (paper: Qwen/Qwen3-32B, thinking mode).",
        required=True, metavar="MODEL",
    )
    thinking: str = option(
        "auto", "Thinking mode of the teacher's chat template (enable_thinking of Qwen3-style templates): on, off, "
        "or auto (the template's default).", choices=THINKING,
    )
    chat_template: str = option(
        "model", "How the question is rendered for the teacher: model (the teacher tokenizer's own template; 'auto' "
        "is accepted as the earlier name), reference (the released DDCF ChatML prompt), chatml, plain, or a .jinja "
        "file (as ddcf evaluate).", metavar="model|reference|chatml|plain|FILE",
    )
    temperature: float = restate(SamplingOptions, "temperature", 0.6)  # Qwen3 thinking mode's
    top_p: float = restate(SamplingOptions, "top_p", 0.95)
    top_k: int = restate(SamplingOptions, "top_k", 20)
    max_new_tokens: int = option(32768, "Most tokens per response (long thinking needs many).", min=1)
    n: int = option(1, "Responses sampled per question and attempt; the first accepted one is kept.", min=1)
    verify_responses: bool = option(
        False, "Keep only responses whose final answer the verifier accepts against the corpus 'answer' column "
        "(questions without a gold are kept unverified); rejected questions are re-sampled up to --max_attempts.",
    )
    max_attempts: int = option(
        4, "With --verify_responses: sampling rounds per question before it is dropped (greedy decoding: one).", min=1,
    )
    shard_size: int = option(
        200, "Questions per checkpoint shard; a killed run resumes after the last finished shard.", min=1,
    )
    overwrite: bool = overwrite_option("the finished shards of this selection's distillation")

    def check(self) -> None:
        super().check()
        if self.chat_template == "auto":  # the earlier name: one spelling, so prompts, stops and resume agree
            self.chat_template = "model"
        if self.n > 1 and self.temperature == 0.0:
            raise DDCFError(f"--n {self.n} with greedy decoding gives {self.n} identical responses.",
                            "add --temperature > 0 or use --n 1.")
