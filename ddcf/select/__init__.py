"""Stage 6: exact k-greedy difficulty/diversity selection (paper eq. 5) and its outputs.

    from ddcf.select import kgreedy_fast, kgreedy_reference
    result = kgreedy_fast(embeddings, predicted_correctness, k=1000, lamda=0.2)
    result.indices  # rows in pick order

Packages: :mod:`~ddcf.select.kgreedy` (the exact engine), :mod:`~ddcf.select.methods` (every selector, one file
each, plus the registry); the library the stage and others use: :mod:`~ddcf.select.pools` (candidate pools),
:mod:`~ddcf.select.output` (the selection folder), :mod:`~ddcf.select.report`, :mod:`~ddcf.select.sft_dataset`,
:mod:`~ddcf.select.stability`; the stage: :mod:`~ddcf.select.config`, :mod:`~ddcf.select.stage` (only ``run``),
:mod:`~ddcf.select.cli`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ddcf.select.kgreedy.common import KGreedyResult
    from ddcf.select.kgreedy.lazy import kgreedy_fast
    from ddcf.select.kgreedy.reference import kgreedy_reference

__all__ = ["KGreedyResult", "kgreedy_fast", "kgreedy_reference"]

# Resolved on first use: `k_greedy_selection.py --help` imports ddcf.select.config through this
# package and must not pay for numpy.
_HOME = {
    "KGreedyResult": "ddcf.select.kgreedy.common",
    "kgreedy_fast": "ddcf.select.kgreedy.lazy",
    "kgreedy_reference": "ddcf.select.kgreedy.reference",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'ddcf.select' has no attribute {name!r}")
