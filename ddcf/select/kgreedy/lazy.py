"""Exact lazy k-greedy (:func:`kgreedy_fast`): the reference's picks, costs and similarities, bit for bit.

A candidate's cost can only grow as S grows, so a cost computed against a prefix of S
is a lower bound (after subtracting the rigorous error bound of the float32 products).
Each step takes the smallest lower bound; while it is stale, it refreshes it - and, in
the same float32 GEMMs, every other bound below the best certified upper bound (at the
start of a step: below the previous pick's cost, which no cost can undercut) - against
the picks each has not seen.  Candidates that are up to date and still below the best
upper bound are then brought to their exact canonical cost (one float64 dot product
when a single pick leads by more than twice the error bound, else a GEMM against all
picks to find the few picks that can hold the max).  The step ends when the smallest
lower bound is an exact, up-to-date cost: every other cost is provably larger, or equal
with a larger row index, so the pick is the reference's pick.  The first similarity
pass (against the first pick) is fused with the pass that computes the row bounds.

Guided probes make refreshes cheap.  A stale row usually only needs *one* new pick
similar enough to lift its bound clear of the threshold (the sim to any pick is a lower
bound of the max).  A 32-dim sketch of every row (its projection on the top principal
directions of a sample, computed in the same first pass) ranks the new picks for 1/80
of the cost of a full product; the row is then compared with the top-ranked pick only.
At paper scale ~97 % of probes lift the row, and the float32 products drop from ~37 %
of the reference's N*k to ~2 % at lamda 0.  The sketch only chooses *which* pick to
try, so it cannot change the selection.

Each run counts bound violations (an exact value outside its certified interval); the
tests require 0.  The per-candidate bookkeeping is :class:`ddcf.select.kgreedy.lazy_state.LazyState`;
objective and conventions: :mod:`ddcf.select.kgreedy.common`.
"""

from __future__ import annotations

import time

import numpy as np

from ddcf.runtime import progress as progress_bar
from ddcf.select.kgreedy.common import (
    KGreedyResult,
    eq5_costs,
    floor_flag,
    rows_f32,
    single_thread_blas,
    validate_inputs,
)
from ddcf.select.kgreedy.exact import canon_bits, canonical_sims, canonicalize
from ddcf.select.kgreedy.lazy_state import LazyState

# float32 partial products over 640 columns summed in float64: a 4x tighter error bound than one
# float32 product at d = 2560 (fewer refreshes) for a few extra BLAS calls; measured best at paper scale
FAST_GEMM_CHUNK = 640
# Guided probes: a stale row missing >= PROBE_MIN picks is first probed (see LazyState.probe); below a
# PROBE_SUCCESS rate of lifted rows, probes run only every 16th step.
PROBE_MIN = 8
PROBE_SUCCESS = 0.25
# look-ahead: at the start of a step, refresh every bound below prev_cost + LOOKAHEAD x (largest of the
# last 8 cost increments)
LOOKAHEAD = 4.0


class _Frontier:
    """Indices whose lower bound is <= tau; every other candidate's bound is > tau.

    Bounds only grow, so the invariant survives refreshes; the frontier is rebuilt
    (one O(N) partition) only when its own minimum passes tau.
    """

    def __init__(self, L: np.ndarray, target: int):
        self.L = L
        self.target = target
        self.idx = np.empty(0, dtype=np.int64)
        self.tau = -np.inf

    def rebuild(self, floor: float) -> None:
        L = self.L
        finite = np.isfinite(L)
        n_f = int(finite.sum())
        if n_f == 0:
            self.idx = np.empty(0, dtype=np.int64)
            self.tau = np.inf
            return
        kth = min(self.target, n_f) - 1
        tau = float(np.partition(L[finite], kth)[kth])
        self.tau = max(tau, floor)
        self.idx = np.flatnonzero(L <= self.tau)

    def compact(self) -> None:
        keep = self.L[self.idx] <= self.tau
        if not keep.all():
            self.idx = self.idx[keep]


def kgreedy_fast(
    emb,
    predicted_correctness,
    k: int,
    lamda: float = 0.2,
    *,
    redundancy: str = "floor",
    block_rows: int = 4096,
    frontier: int = 8192,
    gemm_chunk: int | None = FAST_GEMM_CHUNK,
    sub_batch: int = 512,
    min_batch: int = 16,
    probes: bool = True,
    progress: bool = False,
) -> KGreedyResult:
    """Exact lazy k-greedy: the same picks, costs and similarities as
    :func:`ddcf.select.kgreedy.reference.kgreedy_reference`.

    ``redundancy``: "floor" (the released code's max(0, max sim), default) or "signed" (eq. 5 as written);
    ``frontier``: how many of the lowest bounds are tracked between O(N) scans;
    ``gemm_chunk``: None = one float32 GEMM per refresh (error bound gamma_d), or a column
    width whose float32 partial products are summed in float64 (tighter bound, slower);
    ``sub_batch``: rows gathered per GEMM (small gathers stay in cache);
    ``min_batch``: refreshes are padded to this many rows with the next-lowest stale bounds.
    """
    floor = floor_flag(redundancy)
    with single_thread_blas():
        r = _fast(emb, predicted_correctness, k, lamda, floor=floor, block_rows=block_rows, frontier=frontier,
                  gemm_chunk=gemm_chunk, sub_batch=sub_batch, min_batch=min_batch, probes=probes,
                  progress=progress)
    r.stats["redundancy"] = redundancy
    return r


def _fast(emb, predicted_correctness, k, lamda, *, floor, block_rows, frontier, gemm_chunk, sub_batch, min_batch,
          probes, progress) -> KGreedyResult:
    x, pc, n, d = validate_inputs(emb, predicted_correctness, k, lamda)
    t_start = time.perf_counter()
    lamda = float(lamda)
    b = 1.0 - lamda
    picks = np.empty(k, dtype=np.int64)
    costs = np.empty(k)
    msims = np.full(k, np.nan)
    s = canon_bits(d)

    # step 0: max over the empty set is 0
    c0 = eq5_costs(lamda * pc, b, 0.0, floor=floor)
    if b == 0.0:
        # lamda = 1: the cost is the predicted correctness alone -> the k smallest, stable (ties by row index)
        order = np.argsort(c0, kind="stable")[:k]
        picks[:] = order
        m_all, inv_all = canonicalize(rows_f32(x, order), s)
        # max similarity of each pick to the earlier ones: lower triangle of their Gram matrix, in blocks
        for r0 in range(0, k, 512):
            r1 = min(k, r0 + 512)
            g = canonical_sims(m_all[r0:r1], inv_all[r0:r1], m_all[:r1], inv_all[:r1])
            g[np.arange(r1 - r0)[:, None] + r0 <= np.arange(r1)[None, :]] = -np.inf
            msims[r0:r1] = g.max(axis=1)
        msims[0] = np.nan
        costs[:] = eq5_costs(lamda * pc[order], b, np.where(np.isnan(msims), 0.0, msims), floor=floor)
        return KGreedyResult(picks, costs, msims, lamda, "fast", time.perf_counter() - t_start, {})

    st = LazyState(x, pc, k, lamda, block_rows, gemm_chunk, sub_batch, floor=floor)
    j = int(np.argmin(c0))
    picks[0], costs[0] = j, c0[j]
    st.start(j, with_pass=k > 1, sketch=probes and k > PROBE_MIN)

    fr = _Frontier(st.L, frontier)
    fr.rebuild(-np.inf)
    bar = progress_bar(total=k, desc="k-greedy (fast)", unit="pick", enabled=progress, leave=False)
    bar.update(1)
    prev_cost = costs[0]
    recent_steps = [0.0] * 8  # the last cost increments
    probe_n = probe_ok = 0.0
    for step in range(1, k):
        nsel = st.n_sel
        fr.compact()
        first = True
        probe_n *= 0.98  # forget old probe outcomes: the regime changes as picks accumulate
        probe_ok *= 0.98
        while True:
            st.stats["iterations"] += 1
            if len(fr.idx) == 0:
                fr.rebuild(-np.inf)
                st.stats["rebuilds"] += 1
            Lw = st.L[fr.idx]
            p = int(np.argmin(Lw))
            Lj = Lw[p]
            if Lj > fr.tau:  # the global minimum may lie outside the frontier
                fr.rebuild(-np.inf)
                st.stats["rebuilds"] += 1
                continue
            j = int(fr.idx[p])
            if st.tx[j] == nsel:
                break  # exact and up to date: the lexicographic argmin
            # Which bounds to refresh now.  Costs never drop, so the winner costs at least the
            # previous pick: every bound below that must be refreshed (first batch).  Later
            # batches take every bound below the best certified upper bound (the cheapest
            # up-to-date candidate), or, while nothing is up to date, the lowest bound alone.
            if first:
                # Look ahead: the winner will likely cost about prev_cost plus a recent increment,
                # and every bound below its cost needs work this step; taking them in one batch
                # saves iterations (refreshing a few more rows than needed never changes the pick).
                thr = max(Lj, prev_cost + LOOKAHEAD * max(recent_steps))
                first = False
            else:
                thr = max(Lj, st.best_upper(fr.idx))
                if not np.isfinite(thr):
                    thr = Lj
            sel = Lw <= thr
            cand = fr.idx[sel]
            cand = cand[st.tx[cand] < nsel]
            stale = st.ta[cand] < nsel
            if stale.any():
                todo = cand[stale]
                if st.z is not None and (probe_n < 200 or probe_ok >= PROBE_SUCCESS * probe_n or step % 16 == 0):
                    long = (nsel - st.ta[todo] >= PROBE_MIN) & (nsel - st.tp[todo] >= PROBE_MIN)
                    if long.any():
                        probed = todo[long]
                        st.probe(probed)
                        todo = todo[~long]
                        # A probe costs about one row read, a full refresh one product per missed
                        # pick; the probe pays off when it lifts the row clear of the threshold often
                        # enough.  Keep a decaying success rate; below PROBE_SUCCESS (data with no
                        # low-dimensional structure) probe only every 16th step.
                        probe_n += len(probed)
                        probe_ok += int((st.L[probed] > thr).sum())
            if stale.any() and len(todo):
                if len(todo) < min_batch:
                    # Pad the GEMM with more stale rows that miss no more picks than the batch
                    # does: the picks are read once either way, and those rows would likely need
                    # the same products a few steps later.
                    t_min = int(st.ta[todo].min())
                    pool = fr.idx[(st.ta[fr.idx] < nsel) & (st.ta[fr.idx] >= t_min) & ~sel]
                    extra = min_batch - len(todo)
                    if len(pool) > extra:
                        pool = pool[np.argpartition(st.L[pool], extra - 1)[:extra]]
                    todo = np.concatenate([todo, pool])
                    st.stats["padded_rows"] += len(pool)
                    st.stats["padded_pairs"] += int((nsel - st.ta[pool]).sum())
                st.refresh_approx(todo)
            if (~stale).any():
                st.refresh_exact(cand[~stale])
        picks[step] = j
        costs[step] = st.L[j]
        msims[step] = st.ex_max[j]
        recent_steps[step % len(recent_steps)] = max(0.0, costs[step] - prev_cost)
        prev_cost = costs[step]
        st.add_pick(j)
        bar.update(1)
    bar.close()
    stats = dict(st.stats)
    stats["probe_success"] = probe_ok / probe_n if probe_n else None
    return KGreedyResult(picks, costs, msims, lamda, "fast", time.perf_counter() - t_start, stats)
