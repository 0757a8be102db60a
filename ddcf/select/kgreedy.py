"""k-greedy difficulty/diversity selection (paper eq. 5), exact on CPU.

Objective.  Start from S = {} and repeat k times: add the candidate j not in S with
the smallest

    cost_j = lamda * d_j + (1 - lamda) * max_{u in S} sim(u, j)

where d_j is the predicted correctness and ``sim`` the canonical cosine of
:mod:`ddcf.select.exact`.  Conventions, identical in every implementation:

* max over the empty set is 0, so the first pick is the lowest d_j
  (with lamda = 0 every first cost is 0 and row 0 is picked);
* the cost is evaluated in float64 exactly as ``a_j + b * m`` with
  ``a = lamda * d`` (d float32 -> float64) and ``b = 1 - lamda``;
* ties: the lowest row index wins.

Two implementations with identical output (same picks, same costs, same
similarities, bit for bit):

* :func:`kgreedy_reference` - the straightforward method: one pass over all N
  rows per step (float32 matrix-vector product) keeps every candidate's max
  similarity; the few candidates whose cost cannot be told apart from the best
  within the rigorous float32 error bound are re-evaluated exactly.
* :func:`kgreedy_fast` - lazy evaluation.  A candidate's cost can only grow as
  S grows, so a cost computed against a prefix of S is a lower bound (after
  subtracting the rigorous error bound of the float32 products).  Each step takes
  the smallest lower bound; while it is stale, it refreshes it - and, in the same
  float32 GEMMs, every other bound below the best certified upper bound (at the
  start of a step: below the previous pick's cost, which no cost can undercut) -
  against the picks each has not seen.  Candidates that are up to date and still
  below the best upper bound are then brought to their exact canonical cost (one
  float64 dot product when a single pick leads by more than twice the error bound,
  else a GEMM against all picks to find the few picks that can hold the max).  The
  step ends when the smallest lower bound is an exact, up-to-date cost: every other
  cost is provably larger, or equal with a larger row index, so the pick is the
  reference's pick.  The first similarity pass (against the first pick) is fused
  with the pass that computes the row bounds.

  Guided probes make refreshes cheap.  A stale row usually only needs *one* new
  pick similar enough to lift its bound clear of the threshold (the sim to any pick
  is a lower bound of the max).  A 32-dim sketch of every row (its projection on the
  top principal directions of a sample, computed in the same first pass) ranks the
  new picks for 1/80 of the cost of a full product; the row is then compared with
  the top-ranked pick only.  At paper scale ~97 % of probes lift the row, and the
  float32 products drop from ~37 % of the reference's N*k to ~2 % at lamda 0.  The
  sketch only chooses *which* pick to try, so it cannot change the selection.

Exactness does not depend on the float32 products agreeing between methods: they
are only used through bounds; every decision that matters is taken on exact
canonical values (see :mod:`ddcf.select.exact`).  Each run counts bound
violations (an exact value outside its certified interval); the tests require 0.

Memory: both read the embedding matrix (an ndarray or a read-only np.memmap,
float32 or float16; float64 input is cast to float32 once) in blocks of
``block_rows`` or by gathering at most ``sub_batch`` rows at a time; they never
copy it whole and never build an N x N matrix.  They keep O(N) float64 state plus
the k selected rows (k x d float32 and k x d float64).  A memmap larger than RAM
works: the fast method streams it once and then reads only the rows it refreshes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ddcf.select.exact import (
    CanonicalStore,
    base_eps,
    canon_bits,
    canonical_sims,
    canonicalize,
    compute_row_bounds,
    gemm_error,
)

LOWEST_SIM = -1.5  # below every canonical cosine (>= -1 - 1e-15): the lower bound before any refresh
# float32 partial products over 640 columns summed in float64: a 4x tighter error bound than one
# float32 product at d = 2560 (fewer refreshes) for a few extra BLAS calls; measured best at paper scale
FAST_GEMM_CHUNK = 640
# Guided probes: a stale row missing >= PROBE_MIN picks is first compared with the one new pick that a
# low-dimensional sketch (top SKETCH_DIM principal directions of a SKETCH_SAMPLE-row sample) ranks closest.
PROBE_MIN = 8
PROBE_SUCCESS = 0.25
SKETCH_DIM = 32
SKETCH_SAMPLE = 2048
# look-ahead: at the start of a step, refresh every bound below prev_cost + LOOKAHEAD x (largest of the
# last 8 cost increments)
LOOKAHEAD = 4.0


@dataclass
class KGreedyResult:
    """Picks in selection order and the canonical values at pick time."""

    indices: np.ndarray  # int64 (k,) row numbers into the candidate matrix
    cost: np.ndarray  # float64 (k,) cost when picked
    max_similarity: np.ndarray  # float64 (k,) max sim to earlier picks (NaN for the first pick)
    lamda: float
    method: str
    seconds: float
    stats: dict = field(default_factory=dict)

    def same_selection(self, other: "KGreedyResult") -> bool:
        return (
            np.array_equal(self.indices, other.indices)
            and np.array_equal(self.cost, other.cost)
            and np.array_equal(self.max_similarity, other.max_similarity, equal_nan=True)
        )


# --------------------------------------------------------------------------- shared helpers
def validate_inputs(emb, difficulty, k: int, lamda: float):
    """Check shapes and ranges; return (X float32/float16 2-D, difficulty float64, N, d)."""
    if getattr(emb, "ndim", None) != 2:
        raise ValueError(f"embeddings must be a 2-D array, got shape {getattr(emb, 'shape', None)}")
    x = emb
    if x.dtype == np.float64:
        x = np.asarray(x, dtype=np.float32)  # the bounds assume float32-representable rows (one copy)
    elif x.dtype not in (np.float32, np.float16):
        raise ValueError(f"embeddings must be float16/float32/float64, got {x.dtype}")
    if isinstance(x, np.memmap):
        x = x.view(np.ndarray)  # same mapped buffer, without np.memmap's per-indexing overhead
    n, d = x.shape
    diff = np.asarray(difficulty)
    if diff.shape != (n,):
        raise ValueError(f"difficulty has shape {diff.shape}, expected ({n},)")
    diff = diff.astype(np.float64)
    if not np.all(np.isfinite(diff)):
        raise ValueError("difficulty contains NaN or inf")
    if not (isinstance(k, (int, np.integer)) and 1 <= k <= n):
        raise ValueError(f"k must be an integer in [1, {n}], got {k!r}")
    lamda = float(lamda)
    if not (0.0 <= lamda <= 1.0):
        raise ValueError(f"lamda must be in [0, 1], got {lamda}")
    if n == 0 or d == 0:
        raise ValueError("empty embedding matrix")
    return x, diff, n, d


def rows_f32(x, idx) -> np.ndarray:
    """Rows ``idx`` (sorted int array or slice) as a float32 array (a copy for gathers)."""
    out = x[idx]
    return np.asarray(out, dtype=np.float32)


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="pick", leave=False)


def _single_thread_blas():
    """BLAS limited to one thread while selecting.

    Measured on the 2-core target machine: OpenBLAS with 2 threads halves a large GEMM or
    the reference's matrix-vector pass on a quiet machine, but makes the many small
    products of the lazy selector far slower (thread start-up and spinning), and any other
    job on the second core stalls both threads.  One thread for both methods also keeps
    the benchmark's comparison like for like.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _costs(a: np.ndarray, b: float, m) -> np.ndarray:
    # The one cost formula: two separately rounded float64 operations, never fused.
    return a + b * m


# --------------------------------------------------------------------------- reference
def kgreedy_reference(
    emb, difficulty, k: int, lamda: float = 0.2, *, block_rows: int = 4096, progress: bool = False
) -> KGreedyResult:
    """Straightforward k-greedy: per step, one streaming pass over all rows (see module docstring)."""
    with _single_thread_blas():
        return _reference(emb, difficulty, k, lamda, block_rows=block_rows, progress=progress)


def exact_setup(emb, difficulty, k, lamda, block_rows):
    """Validated inputs plus the canonical-similarity state every exact implementation starts from.

    Returns ``(x, diff, n, d, s, bounds, a, b, base, store)``: cost = ``a[j] + b * max_sim``.
    """
    x, diff, n, d = validate_inputs(emb, difficulty, k, lamda)
    lamda = float(lamda)
    s = canon_bits(d)
    bounds = compute_row_bounds(x, s, block_rows=block_rows)
    base = base_eps(d, gemm_error(d, None))
    return x, diff, n, d, s, bounds, lamda * diff, 1.0 - lamda, base, CanonicalStore(k, d)


def resolve_band(x, band: np.ndarray, s: int, store: CanonicalStore, a: np.ndarray, b: float):
    """Exact canonical costs of the sorted candidate rows ``band``; returns (pick, max sim, cost).

    The first minimum is the lowest row index, because ``band`` is sorted.
    """
    mb, invb = canonicalize(rows_f32(x, band), s)
    ms_band = store.max_sims(mb, invb)
    c_band = _costs(a[band], b, ms_band)
    w = int(np.argmin(c_band))
    return int(band[w]), ms_band[w], c_band[w]


def _reference(emb, difficulty, k, lamda, *, block_rows, progress) -> KGreedyResult:
    t_start = time.perf_counter()
    x, diff, n, d, s, bounds, a, b, base, store = exact_setup(emb, difficulty, k, lamda, block_rows)
    lamda = float(lamda)
    approx = np.full(n, -np.inf)  # max float32-approximate similarity over S
    taken = np.zeros(n, dtype=bool)
    r_sel = 0.0
    picks = np.empty(k, dtype=np.int64)
    costs = np.empty(k)
    msims = np.full(k, np.nan)
    band_sizes = []
    bar = _progress(k, "k-greedy (reference)", progress)
    for step in range(k):
        if step == 0:
            c0 = _costs(a, b, 0.0)
            j = int(np.argmin(c0))
            cost_j = c0[j]
        else:
            # No shortcut at lamda = 1: this is the straightforward method as published, one pass
            # over all rows per step whatever lamda is (the benchmark's baseline).
            eps = base + bounds.r + r_sel
            lo = _costs(a, b, approx - eps)
            hi = _costs(a, b, approx + eps)
            lo[taken] = np.inf
            hi[taken] = np.inf
            band = np.flatnonzero(lo <= hi.min())  # every candidate that might be the argmin
            band_sizes.append(len(band))
            j, msims[step], cost_j = resolve_band(x, band, s, store, a, b)
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
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    stats = {"band_mean": float(np.mean(band_sizes)) if band_sizes else 0.0, "band_max": int(max(band_sizes, default=0))}
    return KGreedyResult(picks, costs, msims, lamda, "reference", time.perf_counter() - t_start, stats)


# --------------------------------------------------------------------------- fast (lazy, exact)
# Cost model of one refresh GEMM (seconds, measured on the 2-core target): a fixed
# overhead per call, reading one pick row, and one candidate-pick product.
_CALL_COST = 50e-6
_PICK_COST = 1e-6
_PAIR_COST = 0.12e-6


def _plan_runs(t_sorted: np.ndarray, n: int, sub_batch: int):
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
        cost = best[:j] + np.ceil(size / sub_batch) * (_CALL_COST + miss[:j] * _PICK_COST) + miss[:j] * size * _PAIR_COST
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
    norms = np.linalg.norm(s, axis=1)
    s = s[norms > 0] / norms[norms > 0, None]
    if len(s) < 2 * q:
        return None
    y = s @ rng.standard_normal((d, q + 8)).astype(np.float32)
    for _ in range(2):
        y, _ = np.linalg.qr(y)
        y = s @ (s.T @ y)
    y, _ = np.linalg.qr(y)
    _, _, vt = np.linalg.svd(y.T @ s, full_matrices=False)
    return np.ascontiguousarray(vt[:q].T, dtype=np.float32)


class _LazyState:
    """Per-candidate bounds of the lazy selector.

    For candidate i, ``ap_max[i]`` is the max *approximate* similarity over picks
    [0, ta[i]).  Every approximate value is within ``eps_i`` of the canonical one
    (:class:`ddcf.select.exact.RowBounds`), so ``ap_max - eps`` is a lower bound of
    the max over all picks, and ``L = a + b * (ap_max - eps)`` a lower bound of the
    cost.  When ``tx[i]`` equals the number of picks, ``ex_max[i]`` is the exact
    canonical max and ``L[i]`` the exact cost.
    """

    def __init__(self, x, diff, k, lamda, block_rows, gemm_chunk, sub_batch):
        n, d = x.shape
        self.x, self.n_rows, self.d = x, n, d
        self.s = canon_bits(d)
        self.block_rows = block_rows
        self.gemm_chunk = gemm_chunk
        self.sub_batch = sub_batch
        self.bounds = None  # filled by start()
        self.a = float(lamda) * diff
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
        for lo_, hi_, t0 in _plan_runs(t_sorted, n, self.sub_batch):
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
        self.L[rows] = _costs(self.a[rows], self.b, self._lower(rows))

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
            self.L[rows] = _costs(self.a[rows], self.b, self._lower(rows))
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
        self.L[rows] = _costs(self.a[rows], self.b, ex)

    def best_upper(self, idx: np.ndarray) -> float:
        """Smallest certified upper bound on the cost among candidates ``idx`` that are up to date."""
        n = self.n_sel
        fresh_x = idx[self.tx[idx] == n]
        best = float(self.L[fresh_x].min()) if len(fresh_x) else np.inf
        fresh_a = idx[(self.ta[idx] == n) & (self.tx[idx] < n)]
        if len(fresh_a):
            up = _costs(self.a[fresh_a], self.b, self.ap_max[fresh_a] + self.eps(fresh_a))
            best = min(best, float(up.min()))
        return best


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
    difficulty,
    k: int,
    lamda: float = 0.2,
    *,
    block_rows: int = 4096,
    frontier: int = 8192,
    gemm_chunk: int | None = FAST_GEMM_CHUNK,
    sub_batch: int = 512,
    min_batch: int = 16,
    probes: bool = True,
    progress: bool = False,
) -> KGreedyResult:
    """Exact lazy k-greedy: the same picks, costs and similarities as :func:`kgreedy_reference`.

    ``frontier``: how many of the lowest bounds are tracked between O(N) scans;
    ``gemm_chunk``: None = one float32 GEMM per refresh (error bound gamma_d), or a column
    width whose float32 partial products are summed in float64 (tighter bound, slower);
    ``sub_batch``: rows gathered per GEMM (small gathers stay in cache);
    ``min_batch``: refreshes are padded to this many rows with the next-lowest stale bounds.
    """
    with _single_thread_blas():
        return _fast(emb, difficulty, k, lamda, block_rows=block_rows, frontier=frontier,
                     gemm_chunk=gemm_chunk, sub_batch=sub_batch, min_batch=min_batch, probes=probes,
                     progress=progress)


def _fast(emb, difficulty, k, lamda, *, block_rows, frontier, gemm_chunk, sub_batch, min_batch, probes, progress) -> KGreedyResult:
    x, diff, n, d = validate_inputs(emb, difficulty, k, lamda)
    t_start = time.perf_counter()
    lamda = float(lamda)
    b = 1.0 - lamda
    picks = np.empty(k, dtype=np.int64)
    costs = np.empty(k)
    msims = np.full(k, np.nan)
    s = canon_bits(d)

    # step 0: max over the empty set is 0
    c0 = _costs(lamda * diff, b, 0.0)
    if b == 0.0:
        # lamda = 1: the cost is the difficulty alone -> the k smallest, stable (ties by row index)
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
        costs[:] = _costs(lamda * diff[order], b, np.where(np.isnan(msims), 0.0, msims))
        return KGreedyResult(picks, costs, msims, lamda, "fast", time.perf_counter() - t_start, {})

    st = _LazyState(x, diff, k, lamda, block_rows, gemm_chunk, sub_batch)
    j = int(np.argmin(c0))
    picks[0], costs[0] = j, c0[j]
    st.start(j, with_pass=k > 1, sketch=probes and k > PROBE_MIN)

    fr = _Frontier(st.L, frontier)
    fr.rebuild(-np.inf)
    bar = _progress(k, "k-greedy (fast)", progress)
    if bar is not None:
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
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    stats = dict(st.stats)
    stats["probe_success"] = probe_ok / probe_n if probe_n else None
    return KGreedyResult(picks, costs, msims, lamda, "fast", time.perf_counter() - t_start, stats)
