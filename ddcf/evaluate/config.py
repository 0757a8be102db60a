"""Options of ``eval/evaluate.py`` / ``ddcf evaluate``, as one dataclass.

Defaults are the released evaluation's settings: its ChatML prompt with the system turn asking for a boxed
answer, sampling at temperature 0.6, top_p 0.95, top_k 20, min_p 0, up to 12,288 new tokens then its
"</think>" and "\\boxed{" follow-ups; one sample per question (pass@1), 64 for AIME24 and AMC23 (reported as
pass@32).  The engine and sampling options are written once, in :mod:`ddcf.runs.engine`.  Imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import option
from ddcf.errors import DDCFError
from ddcf.executors.options import ExecutorOptions
from ddcf.runs.engine import EngineOptions, SamplingOptions, overwrite_option, restate
from ddcf.verify.config import GRADER_HELP, GRADERS, VerifyOptions

BENCHMARK_NAMES = ("aime24", "math500", "olympiadbench", "gsm8k", "sat", "minervamath", "gaokao", "stem", "svamp",
                   "amc23")  # ddcf.evaluate.benchmarks.BENCHMARKS is the registry; kept here so --help is instant


REFERENCE_MAX_NEW_TOKENS = 12288  # released eval/evaluate.py, in a 16,384-token context
SINGLE_MAX_NEW_TOKENS = 16384  # ddcf's earlier default


@dataclass
class EvaluateConfig(VerifyOptions, EngineOptions, SamplingOptions, ExecutorOptions):
    """Evaluate a model on the paper's ten math benchmarks (Table 2): generate, verify, pass@k, results table.

    Completions are checkpointed per benchmark in shards under --output_dir/shards/ (a rerun resumes); writes
    predictions.parquet (one row per question and sample) and results.md / results.csv / results.json."""

    model_name_or_path: str | None = option(
        None, "Model to evaluate: a local folder (e.g. an SFT output_dir) or a Hugging Face Hub id.",
        required=True, metavar="MODEL", aliases=("--model_name",))
    benchmarks: list[str] = option(
        ["all"], f"Benchmarks: 'all' or a comma-separated list of {', '.join(BENCHMARK_NAMES)}.",
        metavar="NAMES")
    output_dir: str | None = option(
        None, "Folder of this evaluation run (default: DDCF_data/eval/<model>/ in the work directory).",
        metavar="DIR")
    chat_template: str = option(
        "reference",
        "Prompt format: reference (the released code's: ChatML with the system prompt 'Please reason step by step, "
        "and put your final answer within \\boxed{}.' and the problem verbatim as user turn, for every benchmark "
        "and model; what ddcf sft trains on), model (the tokenizer's own chat template, the instruction appended "
        "to the problem, a boxed letter asked for multiple choice; an error if it has none), chatml (that user "
        "turn in the generic <|im_start|> layout, no system turn), plain (no template: 'Problem: ... Solution:', "
        "for base models) or the path of a .jinja chat-template file.",
        metavar="reference|model|chatml|plain|FILE.jinja")
    n: int | None = option(
        None, "Samples per question for every benchmark (default: 64 for AIME24 and AMC23, 1 for the others).",
        min=1, metavar="N")
    k: list[str] = option(
        [], "Also report pass@k at these k (e.g. --k 1,8,32); each must be <= the samples per question. AIME24 "
        "and AMC23 report pass@32 by default (the first --k instead, when given).", metavar="K")
    temperature: float = restate(SamplingOptions, "temperature", 0.6)  # the paper's sampling
    top_p: float = restate(SamplingOptions, "top_p", 0.95)
    top_k: int = restate(SamplingOptions, "top_k", 20)
    min_p: float = option(
        0.0, "Min-p sampling (paper: 0). The generation backends always send min_p=0 to the engines, so only 0 "
        "is accepted.", min=0.0, max=1.0)
    schedule: str = option(
        "reference",
        "Generation schedule: reference (the released eval/evaluate.py: up to --max_new_tokens, default 12,288; a "
        "completion without '</think>' gets '\\n</think>' appended and up to --think_max_tokens more sampled; "
        "then one without a \\boxed{...} on one line gets '\\nThe final answer is \\boxed{' appended and "
        "--followup_max_tokens sampled; every call with the main sampling settings and the released stop strings) "
        "or single (ddcf's earlier one: up to 16,384 tokens, then one greedy follow-up after 'The final answer is "
        "$\\boxed{', an open <think> closed first, when the reasoning is left open or no boxed answer is given).",
        choices=("reference", "single"))
    max_new_tokens: int | None = option(
        None, "Most tokens of the first generation (default: 12,288 with --schedule reference, as the released "
        "code in its 16,384-token context; 16,384 with --schedule single).", min=1)
    think_max_tokens: int = option(
        2048, "--schedule reference: tokens sampled after the appended '</think>' (released code: 2,048).", min=1)
    followup_max_tokens: int = option(
        32, "Tokens of the last follow-up, after 'The final answer is \\boxed{' (sampled, reference schedule) or "
        "'The final answer is $\\boxed{' (greedy, single schedule); released code: 32.", min=1)
    grader: str = option(
        "reference", GRADER_HELP + " The headline numbers use this grader (default reference, so they compare "
        "with the paper's Table 2); the strict verifier's pass@1 is reported beside them.", choices=GRADERS)
    limit: int | None = option(None, "Use only the first N questions of each benchmark (smoke runs).", min=1,
                               metavar="N")
    shard_size: int = option(
        100, "Questions per checkpoint shard; a killed run resumes after the last finished shard.", min=1)
    overwrite: bool = overwrite_option("this run's finished shards", aliases=("--force_regenerate",))

    def check(self) -> None:
        from ddcf.evaluate.benchmarks import resolve

        resolve(self.benchmarks)  # an unknown name is an error before any work
        ks = self.k_values
        if self.n is not None and ks and max(ks) > self.n:
            raise DDCFError(f"--n {self.n} is smaller than --k {max(ks)}: pass@{max(ks)} needs at least "
                            f"{max(ks)} samples per question.", f"raise --n to at least {max(ks)} or lower --k.")
        if self.greedy and (self.n or 1) > 1:
            raise DDCFError(f"--n {self.n} with greedy decoding (--temperature 0) would give identical samples.",
                            "use a sampling temperature (the paper's is 0.6) or --n 1.")
        if self.min_p != 0.0:
            raise DDCFError(f"--min_p {self.min_p} is not supported: the generation backends send min_p=0 to "
                            "every engine.", "drop --min_p (the paper's value is 0).")

    @property
    def k_values(self) -> list[int]:
        out = []
        for v in self.k:
            try:
                out.append(int(v))
            except ValueError:
                raise DDCFError(f"--k has {v!r}, which is not a whole number.", "pass numbers, e.g. --k 1,8,32.")
            if out[-1] < 1:
                raise DDCFError(f"--k has {v!r}; pass@k needs k >= 1.", "pass positive numbers, e.g. --k 8,32.")
        return out

    @property
    def new_tokens(self) -> int:
        """--max_new_tokens, or its default for the schedule."""
        if self.max_new_tokens is not None:
            return self.max_new_tokens
        return REFERENCE_MAX_NEW_TOKENS if self.schedule == "reference" else SINGLE_MAX_NEW_TOKENS

    @property
    def model_name(self) -> str:
        return str(self.model_name_or_path)
