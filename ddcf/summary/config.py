"""Options of the run summary (``python -m ddcf.summary``, ``ddcf summary``): the only place they are written."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option


@dataclass
class SummaryConfig(StageConfig):
    """One-screen summary of a DDCF run, read back from the artifacts of every stage (so it also works on a
    run made stage by stage, days apart); says which stage to run next when an artifact is missing. Writes
    nothing."""

    model_name: str = option("Meta-Llama-3-8B-Instruct", "Target model whose predicted correctness and "
                             "selection are shown.", metavar="MODEL")
    lamda: float = option(0.2, "lamda of the selection to show (its folder is lamda<l>_k<k>).", min=0.0, max=1.0)
    num_select: int = option(1000, "k of the selection to show.", min=1, metavar="K")
