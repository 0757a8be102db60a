"""The straightforward exact k-greedy (paper eq. 5, either redundancy): one pass over all N rows per step.

Each step updates every candidate's max float32-approximate similarity to the picks
with one float32 matrix-vector product; the few candidates whose cost cannot be told
apart from the best within the rigorous float32 error bound are re-evaluated exactly
(:func:`ddcf.select.kgreedy.common.resolve_band`).  Objective and conventions:
:mod:`ddcf.select.kgreedy.common`.  This is the method as published and the baseline
that :func:`ddcf.select.kgreedy.lazy.kgreedy_fast` must equal bit for bit.
"""

from __future__ import annotations

import time

import numpy as np

from ddcf.runtime import progress as progress_bar
from ddcf.select.kgreedy.common import (
    KGreedyResult,
    eq5_costs,
    exact_setup,
    floor_flag,
    resolve_band,
    rows_f32,
    single_thread_blas,
)
from ddcf.select.kgreedy.exact import canonicalize


def kgreedy_reference(
    emb, predicted_correctness, k: int, lamda: float = 0.2, *, redundancy: str = "floor", block_rows: int = 4096,
    progress: bool = False,
) -> KGreedyResult:
    """Straightforward k-greedy: per step, one streaming pass over all rows (see module docstring).

    ``redundancy``: "floor" (the released code's max(0, max sim), default) or "signed" (eq. 5 as written)."""
    floor = floor_flag(redundancy)
    with single_thread_blas():
        r = _reference(emb, predicted_correctness, k, lamda, floor=floor, block_rows=block_rows, progress=progress)
    r.stats["redundancy"] = redundancy
    return r


def _reference(emb, predicted_correctness, k, lamda, *, floor, block_rows, progress) -> KGreedyResult:
    t_start = time.perf_counter()
    x, _, n, d, s, bounds, a, b, base, store = exact_setup(emb, predicted_correctness, k, lamda, block_rows)
    lamda = float(lamda)
    approx = np.full(n, -np.inf)  # max float32-approximate similarity over S
    taken = np.zeros(n, dtype=bool)
    r_sel = 0.0
    picks = np.empty(k, dtype=np.int64)
    costs = np.empty(k)
    msims = np.full(k, np.nan)
    band_sizes = []
    bar = progress_bar(total=k, desc="k-greedy (reference)", unit="pick", enabled=progress, leave=False)
    for step in range(k):
        if step == 0:
            c0 = eq5_costs(a, b, 0.0, floor=floor)
            j = int(np.argmin(c0))
            cost_j = c0[j]
        else:
            # No shortcut at lamda = 1: this is the straightforward method as published, one pass
            # over all rows per step whatever lamda is (the benchmark's baseline).
            eps = base + bounds.r + r_sel
            lo = eq5_costs(a, b, approx - eps, floor=floor)
            hi = eq5_costs(a, b, approx + eps, floor=floor)
            lo[taken] = np.inf
            hi[taken] = np.inf
            band = np.flatnonzero(lo <= hi.min())  # every candidate that might be the argmin
            band_sizes.append(len(band))
            j, msims[step], cost_j = resolve_band(x, band, s, store, a, b, floor=floor)
        picks[step] = j
        costs[step] = cost_j
        taken[j] = True
        xj = rows_f32(x, slice(j, j + 1))
        mj, invj = canonicalize(xj, s)
        store.append(mj[0], invj[0])
        r_sel = max(r_sel, float(bounds.r[j]))
        if step < k - 1:
            scale_j = bounds.inv[j]
            for lo_row in range(0, n, block_rows):
                blk = slice(lo_row, min(n, lo_row + block_rows))
                g = rows_f32(x, blk) @ xj[0]
                sims = g * bounds.inv[blk] * scale_j
                np.maximum(approx[blk], sims, out=approx[blk])
        bar.update(1)
    bar.close()
    stats = {"band_mean": float(np.mean(band_sizes)) if band_sizes else 0.0,
             "band_max": int(max(band_sizes, default=0))}
    return KGreedyResult(picks, costs, msims, lamda, "reference", time.perf_counter() - t_start, stats)
