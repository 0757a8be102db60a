"""Options of ``ddcf probe plan|fit|budget``: the only place they are written.  Imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError

ACTIONS = ("plan", "fit", "budget")
#: probe strategies of ``plan`` (measured by benchmarks/bench_coldstart.py; the default is the best there)
PLAN_STRATEGIES = ("doptimal", "spread", "information", "random")
DEFAULT_PLAN_STRATEGY = "doptimal"
#: pair strategies of ``budget``
BUDGET_STRATEGIES = ("planned", "random")


@dataclass
class ProbeConfig(StageConfig):
    """Spend inference where it informs. plan: pick the seed questions a NEW target model should answer first
    (from the trained predictor, among the training-split questions) and write them as a list for
    infer.py --model_name NEW --questions FILE. fit: from NEW's verdicts, fit only NEW's row of the predictor
    (question encoder and every other model frozen), add NEW to the predictor and to model_order.csv, so
    fullcorpus_difficulty_estimation.py --model_name NEW and selection work for it (the previous predictor is
    kept in DDCF_data/predictor/previous/). budget: plan which (model, question) pairs a set of collaborators
    should run under a budget; one question list per model."""

    action: str | None = option(None, "plan, fit or budget.", choices=ACTIONS, positional=True, required=True)
    model_name: str | None = option(
        None, "plan, fit: the new target model's name (as infer.py --model_name NEW writes its verdicts; it must not "
        "be a model the predictor already knows).", metavar="NEW")
    num: int = option(100, "plan: how many probe questions to pick.", min=1, max=10_000_000)
    strategy: str | None = option(
        None, "plan: doptimal (default: greedy Bayesian D-optimal design, i.e. expected information about the new "
        "model's row given the known models, with diversity), spread (variance of predicted correctness across the "
        "known models), information (mean p(1-p) over the known models) or random. budget: random (default: "
        "uniformly random pairs, which matched the full matrix best in benchmarks/bench_budget.py) or planned (a "
        "shared core plus each model's least certain questions).",
        choices=tuple(dict.fromkeys(PLAN_STRATEGIES + BUDGET_STRATEGIES)))
    questions_out: str | None = option(
        None, "plan: where to write the question list (default DDCF_data/probe/<NEW>.txt).", metavar="FILE")
    prior_strength: float = option(
        1.0, "fit: strength of the prior on the new model's row. The prior is the known models' own spread (a "
        "Gaussian with their mean and covariance); 1 treats NEW as one more model drawn like them, larger values "
        "pull it harder toward the average model.", min_excl=0.0, max=1e6)
    budget: float | None = option(
        None, "budget: the share of all (model, question) pairs to run, in (0, 1].", min_excl=0.0, max=1.0,
        metavar="FRACTION")
    gpu_hours: float | None = option(
        None, "budget: a GPU-hour budget instead of --budget (converted with the measured tokens/s).",
        min_excl=0.0, metavar="HOURS")
    core_fraction: float = option(
        0.5, "budget --strategy planned: share of the budget spent on a shared core of questions every model "
        "answers.", min=0.0, max=1.0)
    models: list[str] | None = option(
        None, "budget: the collaborators (default: every model in model_order.csv).", metavar="MODEL")
    seed: int = option(0, "Random seed (random strategies, tie breaks).", min=0, max=2**32 - 1)

    def check(self) -> None:
        if self.action in ("plan", "fit") and not self.model_name:
            raise DDCFError(f"ddcf probe {self.action} needs --model_name NEW (the new target model).",
                            f"pass e.g. ddcf probe {self.action} --model_name my-org/my-model.")
        if self.action == "plan" and self.strategy is not None and self.strategy not in PLAN_STRATEGIES:
            raise DDCFError(f"--strategy {self.strategy} is a budget strategy, not a probe strategy.",
                            f"pass one of {', '.join(PLAN_STRATEGIES)} for ddcf probe plan.")
        if self.action == "budget":
            if self.strategy is not None and self.strategy not in BUDGET_STRATEGIES:
                raise DDCFError(f"--strategy {self.strategy} is a probe strategy, not a budget strategy.",
                                f"pass one of {', '.join(BUDGET_STRATEGIES)} for ddcf probe budget.")
            if (self.budget is None) == (self.gpu_hours is None):
                raise DDCFError("ddcf probe budget needs exactly one of --budget and --gpu_hours.",
                                "pass e.g. --budget 0.25 (a quarter of all pairs) or --gpu_hours 3.")

    @property
    def plan_strategy(self) -> str:
        return self.strategy or DEFAULT_PLAN_STRATEGY

    @property
    def budget_strategy(self) -> str:
        return self.strategy or "random"
