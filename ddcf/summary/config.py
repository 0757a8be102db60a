"""Options of the run summary (``python -m ddcf.summary``, ``ddcf summary``): the only place they are written."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option


@dataclass
class SummaryConfig(StageConfig):
    """One-screen summary of a DDCF run, read back from the artifacts of every stage (so it also works on a
    run made stage by stage, days apart); says which stage to run next when an artifact is missing. Writes
    nothing."""

    model_name: str | None = option(None, "Target model whose predicted correctness and selection are shown "
                                    "(default: the one target with a selection in the work directory, else the one "
                                    "with a difficulty table; when there are several they are listed).",
                                    metavar="MODEL")
    lamda: float | None = option(None, "lamda of the selection to show (its folder is lamda<l>_k<k>; default: the "
                                 "target's only selection).", min=0.0, max=1.0)
    num_select: int | None = option(None, "k of the selection to show (default: the target's only selection).",
                                    min=1, metavar="K")
