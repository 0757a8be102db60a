"""Per-candidate bounds of the lazy k-greedy selector (:mod:`ddcf.select.kgreedy.lazy`).

:class:`LazyState` keeps, for every candidate, a certified lower bound on its cost
(from float32 similarities to a prefix of the picks, from guided probes, or the exact
canonical value) and the operations that tighten it: an approximate refresh against
the picks a row has not seen (float32 GEMMs planned by :func:`plan_runs`), a probe
against the one new pick a low-dimensional sketch (:func:`sketch_basis`) ranks
closest, and the exact canonical max.  Error bounds: :mod:`ddcf.select.kgreedy.exact`.
"""

from __future__ import annotations

import numpy as np

from ddcf.artifacts.embeddings import unit_rows
from ddcf.select.kgreedy.common import eq5_costs, rows_f32
from ddcf.select.kgreedy.exact import (
    CanonicalStore,
    base_eps,
    canon_bits,
    canonicalize,
    compute_row_bounds,
    gemm_error,
)

LOWEST_SIM = -1.5  # below every canonical cosine (>= -1 - 1e-15): the lower bound before any refresh
# Guided probes compare a stale row with the one new pick that a low-dimensional sketch (top SKETCH_DIM
# principal directions of a SKETCH_SAMPLE-row sample) ranks closest.
SKETCH_DIM = 32
SKETCH_SAMPLE = 2048

# Cost model of one refresh GEMM (seconds, measured on the 2-core target): a fixed
# overhead per call, reading one pick row, and one candidate-pick product.
_CALL_COST = 50e-6
_PICK_COST = 1e-6
_PAIR_COST = 0.12e-6


def plan_runs(t_sorted: np.ndarray, n: int, sub_batch: int):
    """Split candidates sorted by prefix length into runs that share one GEMM each.

    A run refreshes every member against picks [t_first, n); members that had seen
    more of them redo a few products (re-taking a max is harmless).  The split
    minimises the cost model above by dynamic programming over the sorted prefixes
    (runs longer than ``sub_batch`` are charged as several calls).
    """
    total = len(t_sorted)
    if total == 0:
        return []
    # units of equal prefix; a run is a contiguous range of units
    cuts = np.flatnonzero(np.diff(t_sorted)) + 1
    starts = np.concatenate([[0], cuts]).astype(np.int64)
    u = len(starts)
    if u == 1 or u > 512:
        stops = np.concatenate([cuts, [total]])
        return [(int(a), int(b), int(t_sorted[a])) for a, b in zip(starts, stops)]
    bounds = np.concatenate([starts, [total]])
    miss = (n - t_sorted[starts]).astype(np.float64)
    best = np.zeros(u + 1)
    arg = np.zeros(u + 1, dtype=np.int64)
    for j in range(1, u + 1):
        size = bounds[j] - bounds[:j]
        cost = (best[:j] + np.ceil(size / sub_batch) * (_CALL_COST + miss[:j] * _PICK_COST)
                + miss[:j] * size * _PAIR_COST)
        i = int(cost.argmin())
        best[j] = cost[i]
        arg[j] = i
    runs = []
    j = u
    while j > 0:
        i = int(arg[j])
        runs.append((int(bounds[i]), int(bounds[j]), int(t_sorted[bounds[i]])))
        j = i
    return runs[::-1]


def sketch_basis(x, q: int, sample: int, seed: int = 0) -> np.ndarray | None:
    """A d x q orthonormal basis of the top principal directions of (unit) rows of ``x``.

    Only guides which pick a probe tries first, so any basis keeps the selection exact; a
    good one makes probes succeed.  Randomized range finder with two power iterations on
    a fixed-seed sample of rows (a few hundred ms at d = 2560).  ``q`` is capped at d / 4
    so a sketch product stays much cheaper than a full one; None when that leaves < 4 dims.
    """
    n, d = x.shape
    q = min(q, d // 4)
    if q < 4 or n < 2 * q:
        return None
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, min(n, sample), replace=False))
    s = rows_f32(x, rows)
    s = unit_rows(s[np.linalg.norm(s, axis=1) > 0], dtype=np.float32)  # zero rows carry no direction
    if len(s) < 2 * q:
        return None
    y = s @ rng.standard_normal((d, q + 8)).astype(np.float32)
    for _ in range(2):
        y, _ = np.linalg.qr(y)
        y = s @ (s.T @ y)
    y, _ = np.linalg.qr(y)
    _, _, vt = np.linalg.svd(y.T @ s, full_matrices=False)
    return np.ascontiguousarray(vt[:q].T, dtype=np.float32)


class LazyState:
    """Per-candidate bounds of the lazy selector.

    For candidate i, ``ap_max[i]`` is the max *approximate* similarity over picks
    [0, ta[i]).  Every approximate value is within ``eps_i`` of the canonical one
    (:class:`ddcf.select.kgreedy.exact.RowBounds`), so ``ap_max - eps`` is a lower bound of
    the max over all picks, and ``L = a + b * (ap_max - eps)`` a lower bound of the
    cost.  When ``tx[i]`` equals the number of picks, ``ex_max[i]`` is the exact
    canonical max and ``L[i]`` the exact cost.
    """

    def __init__(self, x, predicted_correctness, k, lamda, block_rows, gemm_chunk, sub_batch, *, floor: bool):
        n, d = x.shape
        # floor: cost from max(0, max sim) (the released code) instead of the signed max (eq. 5 as written).
        # Every bound below is on the signed max sim; max(0, .) is monotone, so eq5_costs(..., floor=True)
        # of a lower (upper) bound is a lower (upper) bound of the floored cost.
        self.floor = floor
        self.x, self.n_rows, self.d = x, n, d
        self.s = canon_bits(d)
        self.block_rows = block_rows
        self.gemm_chunk = gemm_chunk
        self.sub_batch = sub_batch
        self.bounds = None  # filled by start()
        self.a = float(lamda) * predicted_correctness
        self.b = 1.0 - float(lamda)
        self.base = base_eps(d, gemm_error(d, gemm_chunk))
        self.store = CanonicalStore(k, d)
        self.sel_x = np.empty((max(k, 1), d), dtype=np.float32)  # raw rows of the picks, pick order
        self.sel_inv = np.empty(max(k, 1))
        self.r_prefix = np.zeros(k + 1)  # r_prefix[t] = max r over the first t picks
        self.n_sel = 0
        self.ap_max = np.full(n, -np.inf)
        self.ta = np.zeros(n, dtype=np.int64)
        # ap_arg: the pick with the max approximate sim; ap_second: the max over all other picks.
        # If ap_second < ap_max - window (window >= 2 eps for any later pick), no other pick can
        # hold the exact max, and the exact max is one float64 dot product away.
        self.ap_arg = np.full(n, -1, dtype=np.int64)
        self.ap_second = np.full(n, -np.inf)
        # probes (see probe()): pb_lo is a certified lower bound on the max canonical sim over all
        # picks (the sim to one pick, minus its error bound); tp = picks when last probed
        self.pb_lo = np.full(n, -np.inf)
        self.tp = np.zeros(n, dtype=np.int64)
        # a float32 matrix-vector product of length d: gamma_d in any summation order
        self.base_probe = base_eps(d, gemm_error(d, None))
        self.sketch = None  # d x SKETCH_DIM basis, filled by start() when probes are on
        self.z = None  # N x SKETCH_DIM sketch of the unit rows
        self.zsel = None  # sketch of the picks, pick order
        self.window = None  # filled by start()
        self.ex_max = np.full(n, -np.inf)  # exact max over all picks when tx == n_sel
        self.tx = np.zeros(n, dtype=np.int64)
        self.L = np.full(n, -np.inf)  # lower bound on the cost
        self.stats = dict(iterations=0, approx_rows=0, approx_pairs=0, exact_rows=0, exact_pairs=0,
                          exact_full_rows=0, rebuilds=0, bound_violations=0, redo_pairs=0,
                          padded_rows=0, padded_pairs=0, probe_rows=0, probe_pairs=0, sketch_pairs=0)

    # ---- picks
    def start(self, j: int, with_pass: bool, sketch: bool = False) -> None:
        """Pick ``j`` first; one streaming pass computes every row's bounds and, while each
        block is in cache, its similarity to pick ``j`` (every candidate's first refresh)
        and, with ``sketch``, its low-dimensional sketch for guided probes."""
        own = compute_row_bounds(rows_f32(self.x, slice(j, j + 1)), self.s)  # any valid bound will do
        self._add(j, float(own.inv[0]), float(own.r[0]))
        if sketch:
            self.sketch = sketch_basis(self.x, SKETCH_DIM, SKETCH_SAMPLE)
        if self.sketch is not None:
            q = self.sketch.shape[1]
            self.z = np.empty((self.n_rows, q), dtype=np.float32)
            self.zsel = np.empty((len(self.sel_x), q), dtype=np.float32)

        def first_pass(a, xb, bounds):
            self.bounds = bounds
            rows = np.arange(a, a + len(xb))
            if with_pass:
                self._merge(rows, self._approx_sims(xb, bounds.inv[rows], 0, 1), 0)
            if self.z is not None:
                self.z[rows] = (xb @ self.sketch) * bounds.inv[rows, None].astype(np.float32)

        compute_row_bounds(self.x, self.s, block_rows=self.block_rows, on_block=first_pass)
        if self.z is not None:
            self.zsel[0] = self.z[j]
        r_any = max(float(self.bounds.r.max()), float(self.r_prefix[1]))  # r of any pick, now or later
        self.window = 2.0 * (self.base + self.bounds.r + r_any)
        self.L[j] = np.inf
        if with_pass:
            self.stats["approx_rows"] += self.n_rows
            self.stats["approx_pairs"] += self.n_rows

    def add_pick(self, j: int) -> None:
        self._add(j, float(self.bounds.inv[j]), float(self.bounds.r[j]))

    def _add(self, j: int, inv_j: float, r_j: float) -> None:
        xj = rows_f32(self.x, slice(j, j + 1))
        mj, invj = canonicalize(xj, self.s)
        self.store.append(mj[0], invj[0])
        t = self.n_sel
        self.sel_x[t] = xj[0]
        self.sel_inv[t] = inv_j
        self.r_prefix[t + 1] = max(self.r_prefix[t], r_j)
        if self.z is not None:
            self.zsel[t] = self.z[j]
        self.n_sel += 1
        self.L[j] = np.inf

    def eps(self, rows: np.ndarray) -> np.ndarray:
        return self.base + self.bounds.r[rows] + self.r_prefix[self.ta[rows]]

    def _approx_sims(self, xr: np.ndarray, inv_r: np.ndarray, t0: int, t1: int, step: int = 1) -> np.ndarray:
        """Approximate sims (float64) of raw rows ``xr`` with picks t0, t0+step, ... < t1."""
        ys = self.sel_x[t0:t1:step]
        c = self.gemm_chunk
        if c is None or c >= self.d:
            # OpenBLAS is up to 2x faster with the larger operand on the left (measured)
            g = (ys @ xr.T).T if len(xr) < len(ys) else xr @ ys.T
            g = g.astype(np.float64)
        else:
            g = np.zeros((len(xr), len(ys)))
            for c0 in range(0, self.d, c):
                g += xr[:, c0 : c0 + c] @ ys[:, c0 : c0 + c].T
        g *= inv_r[:, None]
        g *= self.sel_inv[t0:t1:step][None, :]
        return g

    def _lower(self, rows: np.ndarray) -> np.ndarray:
        """Lower bound on the max sim over all picks: from the prefix [0, ta) and from the probes."""
        lo = self.ap_max[rows] - (self.base + self.bounds.r[rows] + self.r_prefix[self.ta[rows]])
        return np.maximum(np.maximum(lo, self.pb_lo[rows]), LOWEST_SIM)

    # ---- refreshes
    def refresh_approx(self, idx: np.ndarray) -> None:
        """float32 GEMM of rows ``idx`` against the picks each has not seen; update the bounds."""
        n = self.n_sel
        idx = idx[np.argsort(self.ta[idx], kind="stable")]
        t_sorted = self.ta[idx]
        for lo_, hi_, t0 in plan_runs(t_sorted, n, self.sub_batch):
            run = np.sort(idx[lo_:hi_])
            for b0 in range(0, len(run), self.sub_batch):
                rows = run[b0 : b0 + self.sub_batch]  # small gathers stay in cache
                self.stats["redo_pairs"] += int((self.ta[rows] - t0).sum())
                g = self._approx_sims(rows_f32(self.x, rows), self.bounds.inv[rows], t0, n)
                self._merge(rows, g, t0)
                self.stats["approx_rows"] += len(rows)
                self.stats["approx_pairs"] += len(rows) * (n - t0)

    def _merge(self, rows: np.ndarray, g: np.ndarray, t0: int) -> None:
        """Fold approximate sims ``g`` (rows x picks [t0, n), modified here) into the bounds."""
        n = self.n_sel
        old_ta = self.ta[rows]
        if (old_ta > t0).any():
            # picks a row had already seen (shared run) are summarised by its old values
            g[(t0 + np.arange(n - t0))[None, :] < old_ta[:, None]] = -np.inf
        r = np.arange(len(rows))
        seg_arg = g.argmax(axis=1)
        seg_max = g[r, seg_arg]
        g[r, seg_arg] = -np.inf
        seg_second = g.max(axis=1)
        old_max, old_second = self.ap_max[rows], self.ap_second[rows]
        take = seg_max > old_max
        new_max = np.where(take, seg_max, old_max)
        self.ap_arg[rows] = np.where(take, seg_arg + t0, self.ap_arg[rows])
        self.ap_second[rows] = np.where(take, np.maximum(seg_second, old_max), np.maximum(old_second, seg_max))
        self.ap_max[rows] = new_max
        self.ta[rows] = n
        self.L[rows] = eq5_costs(self.a[rows], self.b, self._lower(rows), floor=self.floor)

    def probe(self, idx: np.ndarray) -> None:
        """Cheap partial refresh of stale rows: the sim to one well-chosen new pick.

        The sim to any single pick is a valid lower bound on the max over all picks.  A
        row that fell below the threshold is usually lifted well clear of it by its
        nearest new pick, and the sketch (a 32-dim projection on the data's principal
        directions) finds that pick for 1/80 of the products at d = 2560; the one float32
        product then costs little more than reading the row.  Rows still below the
        threshold get a full refresh next.
        """
        n = self.n_sel
        idx = idx[np.argsort(self.ta[idx], kind="stable")]  # rows missing similar picks share a sketch GEMM
        for b0 in range(0, len(idx), self.sub_batch):
            rows = idx[b0 : b0 + self.sub_batch]
            t0 = int(self.ta[rows].min())
            gz = self.z[rows] @ self.zsel[t0:n].T
            seen = (t0 + np.arange(n - t0))[None, :] < self.ta[rows][:, None]
            gz[seen] = -np.inf
            best = t0 + gz.argmax(axis=1)
            order = np.argsort(best, kind="stable")
            rows, best = rows[order], best[order]
            # one float32 dot product per row, rows grouped by their pick: each group is one
            # broadcast np.vecdot against a single pick row (measured 3x faster than gathering a
            # pick row per candidate)
            xr = rows_f32(self.x, rows)
            g32 = np.empty(len(rows), dtype=np.float32)
            cuts = np.flatnonzero(best[1:] != best[:-1]) + 1
            for a_, b_ in zip([0, *cuts.tolist()], [*cuts.tolist(), len(rows)]):
                g32[a_:b_] = np.vecdot(xr[a_:b_], self.sel_x[best[a_]])
            g = g32.astype(np.float64)
            g *= self.bounds.inv[rows]
            g *= self.sel_inv[best]
            lo = g - (self.base_probe + self.bounds.r[rows] + self.r_prefix[n])
            self.pb_lo[rows] = np.maximum(self.pb_lo[rows], lo)
            self.tp[rows] = n
            self.L[rows] = eq5_costs(self.a[rows], self.b, self._lower(rows), floor=self.floor)
            self.stats["probe_rows"] += len(rows)
            self.stats["probe_pairs"] += len(rows)
            self.stats["sketch_pairs"] += gz.size

    def refresh_exact(self, idx: np.ndarray) -> None:
        """Exact canonical max similarity over every pick for up-to-date rows ``idx``.

        A row whose best approximate pick leads all others by more than ``window`` needs
        one exact dot product.  Otherwise one float32 GEMM against all picks finds the
        picks within 2 eps of the row's approximate max; every other pick is provably
        below the max, so only those few get exact float64 dot products.
        """
        n = self.n_sel
        rows = np.sort(idx)
        xr = rows_f32(self.x, rows)
        m, inv = canonicalize(xr, self.s)
        ex = np.full(len(rows), -np.inf)
        single = self.ap_second[rows] < self.ap_max[rows] - self.window[rows]
        if single.any():
            arg = self.ap_arg[rows[single]]
            dots = np.einsum("pd,pd->p", m[single], self.store.m[arg])  # exact: integer sums < 2**53
            ex[single] = dots * (inv[single] * self.store.inv[arg])
            self.stats["exact_pairs"] += int(single.sum())
        multi = np.flatnonzero(~single)
        if len(multi):
            g = self._approx_sims(xr[multi], self.bounds.inv[rows[multi]], 0, n)
            ap = g.max(axis=1)
            eps = self.base + self.bounds.r[rows[multi]] + self.r_prefix[n]
            r_near, c_near = np.nonzero(g >= (ap - 2.0 * eps)[:, None])
            dots = np.einsum("pd,pd->p", m[multi[r_near]], self.store.m[c_near])
            sims = dots * (inv[multi[r_near]] * self.store.inv[c_near])
            exm = np.full(len(multi), -np.inf)
            np.maximum.at(exm, r_near, sims)
            ex[multi] = exm
            self.stats["exact_pairs"] += len(r_near)
            self.stats["exact_full_rows"] += len(multi)
        self.stats["exact_rows"] += len(rows)
        lower = self._lower(rows)
        upper = self.ap_max[rows] + self.eps(rows)
        bad = (lower > ex) | (upper < ex)
        if bad.any():  # would mean the error analysis is wrong: counted, tests require zero
            self.stats["bound_violations"] += int(bad.sum())
        self.ex_max[rows] = ex
        self.tx[rows] = n
        self.L[rows] = eq5_costs(self.a[rows], self.b, ex, floor=self.floor)

    def best_upper(self, idx: np.ndarray) -> float:
        """Smallest certified upper bound on the cost among candidates ``idx`` that are up to date."""
        n = self.n_sel
        fresh_x = idx[self.tx[idx] == n]
        best = float(self.L[fresh_x].min()) if len(fresh_x) else np.inf
        fresh_a = idx[(self.ta[idx] == n) & (self.tx[idx] < n)]
        if len(fresh_a):
            up = eq5_costs(self.a[fresh_a], self.b, self.ap_max[fresh_a] + self.eps(fresh_a), floor=self.floor)
            best = min(best, float(up.min()))
        return best
