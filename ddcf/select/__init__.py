"""Stage 6: exact k-greedy difficulty/diversity selection (paper eq. 5) and its outputs.

    from ddcf.select import kgreedy_fast, kgreedy_reference
    result = kgreedy_fast(embeddings, predicted_correctness, k=1000, lamda=0.2)
    result.indices  # rows in pick order

Modules: :mod:`~ddcf.select.kgreedy_common` (objective, conventions, shared helpers),
:mod:`~ddcf.select.kgreedy_ref` (the straightforward method),
:mod:`~ddcf.select.kgreedy_lazy` and :mod:`~ddcf.select.kgreedy_lazy_state` (the fast exact lazy method),
:mod:`~ddcf.select.kgreedy_torch` (torch / CUDA), :mod:`~ddcf.select.exact` (the canonical similarity
every implementation shares); the stage: :mod:`~ddcf.select.config`, :mod:`~ddcf.select.stage`,
:mod:`~ddcf.select.cli`, with :mod:`~ddcf.select.report` and :mod:`~ddcf.select.sft_dataset`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ddcf.select.kgreedy_common import KGreedyResult
    from ddcf.select.kgreedy_lazy import kgreedy_fast
    from ddcf.select.kgreedy_ref import kgreedy_reference

__all__ = ["KGreedyResult", "kgreedy_fast", "kgreedy_reference"]

# Resolved on first use: `k_greedy_selection.py --help` imports ddcf.select.config through this
# package and must not pay for numpy.
_HOME = {
    "KGreedyResult": "ddcf.select.kgreedy_common",
    "kgreedy_fast": "ddcf.select.kgreedy_lazy",
    "kgreedy_reference": "ddcf.select.kgreedy_ref",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'ddcf.select' has no attribute {name!r}")
