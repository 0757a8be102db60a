"""Options of stage 1's generate half (``infer.py --model_name M``, ``ddcf generate``), as one dataclass.

The only place a generation option, its default or its help text is written: the command
line, ``--config`` and the runner (:func:`ddcf.generate.runner.run_generation` takes this
config) all derive from it.  Defaults are the released ``infer.py``'s settings (``--prompt_style
reference``): greedy decoding, few-shot prompts cut to their last 1024 tokens, its stop strings, a
4096-token engine context, up to 2700 new tokens, and its 30-token "\\boxed{" follow-up.
``--prompt_style ddcf`` keeps this project's earlier prompts, truncation and follow-up.  The verification options
(``--timeout``, ``--workers``) come from :class:`ddcf.verify.config.VerifyOptions`, the engine and sampling options
(``--backend``, ``--dtype``, ``--temperature``, ...) from :mod:`ddcf.runs.engine`.

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import option
from ddcf.errors import DDCFError
from ddcf.executors.options import ExecutorOptions
from ddcf.generate import prompts as P
from ddcf.runs import backends as B
from ddcf.runs.engine import EngineOptions, SamplingOptions, overwrite_option
from ddcf.verify.config import VerifyOptions

#: reference: the released infer.py/prepare.py; ddcf: this project's earlier prompts (see ddcf.generate.prompts)
PROMPT_STYLES = ("reference", "ddcf")
REFERENCE_CONTEXT_LENGTH = 4096  # released infer.py: sgl.Engine(context_length=4096)
REFERENCE_FOLLOWUP_TOKENS = 30  # released infer.py: the follow-up's max_new_tokens
DDCF_FOLLOWUP_TOKENS = 32


@dataclass
class GenerateConfig(VerifyOptions, EngineOptions, SamplingOptions, ExecutorOptions):
    """Stage 1, generate: answer every seed question with one LLM, then verify the answers.

    Few-shot prompts; completions are checkpointed in shards under DDCF_data/generations/<model>/ (a rerun
    resumes; --questions FILE answers only a listed subset), verdicts go to DDCF_data/verdicts/<model>.parquet
    (+ <model>.passrate.parquet with --n > 1)."""

    model_name: str | None = option(
        None,
        "Model to generate with: a local folder or a Hugging Face Hub id (e.g. Qwen/Qwen2.5-Math-7B). Required "
        "for generation.",
        metavar="MODEL",
    )
    prompt_style: str = option(
        "reference",
        "reference: prompts, truncation, stop strings and follow-up as the released infer.py (prompt ending "
        "'Solution:', exemplars by the seed table's type column when it has one, a prompt of --max_prompt_tokens "
        "or more tokens cut to its last --max_prompt_tokens tokens, stops <|im_end|>, <\uff5cend\u2581of\u2581"
        "sentence\uff5c>, Problem: and the EOS token, a follow-up ' The final answer is $\\boxed{' of 30 greedy "
        "tokens when the completion has no '\\boxed{'). ddcf: this project's earlier style (prompt ending "
        "'Solution:\\n', oldest exemplars dropped first, stop 'Problem:', follow-up on a line of its own stopped "
        "at '}$'; needed with --chat_template and to resume runs made before this option existed).",
        choices=PROMPT_STYLES,
    )
    context_length: int | None = option(
        None,
        "Engine context window, prompt + completion (SGLang context_length, vLLM max_model_len; default 4096 "
        "with --prompt_style reference, as released, the model's own with ddcf).",
        min=16,
    )
    max_new_tokens: int = option(2700, "Most tokens generated per completion (paper: 2700).", min=1)
    max_prompt_tokens: int = option(
        1024,
        "Longest prompt (paper: 1024): reference style keeps the last this-many tokens of a longer one; ddcf drops "
        "its oldest exemplars first.",
        min=16,
    )
    n: int = option(1, "Completions per question; with --temperature > 0 this gives pass rates (pass@n).", min=1)
    chat_template: bool = option(
        False, "Wrap the few-shot prompt in the tokenizer's chat template (for instruct models)."
    )
    shard_size: int = option(
        500, "Questions per checkpoint shard; a killed run resumes after the last finished shard.", min=1
    )
    overwrite: bool = overwrite_option("this model's finished shards and verdicts", aliases=("--force_regenerate",))
    regrade: bool = option(
        False,
        "Only grade the existing completions again (no generation, the verify cache bypassed); needs finished "
        "generations. infer.py still accepts the old spelling --reverify for it in generation mode.",
    )
    limit: int | None = option(None, "Use only the first N seed questions (smoke runs).", min=1, metavar="N")
    questions: str | None = option(
        None,
        "Generate (and verify) only these seed questions: a text file with one question id per line ('#' lines "
        "and blank lines ignored) or a CSV/Parquet table with a question_id column (e.g. from ddcf probe plan). "
        "Resumable like the full run: listed questions already answered are not generated again, and a later "
        "run with a longer list or without --questions generates only the rest.",
        metavar="FILE",
    )
    followup_max_tokens: int | None = option(
        None,
        "Tokens for the follow-up after 'The final answer is $\\boxed{' when a completion has no boxed answer "
        f"(default {REFERENCE_FOLLOWUP_TOKENS} with --prompt_style reference, {DDCF_FOLLOWUP_TOKENS} with ddcf).",
        min=1,
    )

    def check(self) -> None:
        if self.n > 1 and self.temperature == 0.0:
            raise DDCFError(
                f"--n {self.n} with greedy decoding (--temperature 0) would give {self.n} identical samples.",
                "add a sampling temperature, e.g. --temperature 0.6 --top_p 0.95, or use --n 1.",
            )
        if self.chat_template and self.prompt_style == "reference":
            raise DDCFError("--chat_template needs --prompt_style ddcf: the released stage 1 (the reference style) "
                            "never uses a chat template.",
                            "add --prompt_style ddcf to wrap the few-shot prompt in the model's chat template, or "
                            "drop --chat_template.")
        if self.regrade and self.overwrite:
            raise DDCFError("--regrade and --overwrite (--force_regenerate) contradict each other.",
                            "use --regrade to grade existing completions again, or --overwrite to redo all.")

    def require_model(self) -> str:
        """The model to generate with.  Checked when generating, not in :meth:`check`: infer.py validates
        this config in its verify mode too, where no model is given."""
        if not isinstance(self.model_name, str) or not self.model_name.strip():
            raise DDCFError("No model given.", "pass --model_name (a local folder or a Hugging Face Hub id).")
        return self.model_name

    # ---- derived values
    @property
    def reference(self) -> bool:
        return self.prompt_style == "reference"

    @property
    def resolved_context_length(self) -> int | None:
        """The engine context window; None = the model's own."""
        if self.context_length is not None:
            return self.context_length
        return REFERENCE_CONTEXT_LENGTH if self.reference else None

    @property
    def resolved_followup_max_tokens(self) -> int:
        if self.followup_max_tokens is not None:
            return self.followup_max_tokens
        return REFERENCE_FOLLOWUP_TOKENS if self.reference else DDCF_FOLLOWUP_TOKENS

    def stop_strings(self, eos_token: str | None = None) -> tuple[str, ...]:
        """The main generation's stop strings (the reference style's end with the tokenizer's EOS token text)."""
        if not self.reference:
            return P.STOP_STRINGS
        return P.REFERENCE_STOP_STRINGS + ((eos_token,) if eos_token is not None else ())

    def sampling_spec(self, eos_ids: list[int], eos_token: str | None = None):
        return self.sampling(self.max_new_tokens, self.n, self.stop_strings(eos_token), eos_ids)

    def followup_spec(self, eos_ids: list[int], eos_token: str | None = None):
        """Greedy; reference style: the main stop strings, ddcf: stop at '}$'."""
        stop = self.stop_strings(eos_token) if self.reference else P.FOLLOWUP_STOP
        return B.SamplingSpec(max_new_tokens=self.resolved_followup_max_tokens, n=1, temperature=0.0,
                            stop=stop, stop_token_ids=tuple(eos_ids))
