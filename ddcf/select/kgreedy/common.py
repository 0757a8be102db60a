"""k-greedy difficulty/diversity selection (paper eq. 5): the objective, its conventions, shared helpers.

Objective.  Start from S = {} and repeat k times: add the candidate j not in S with
the smallest

    cost_j = lamda * p_j + (1 - lamda) * R_j,   R_j = max(0, max_{u in S} sim(u, j))   (redundancy "floor")
                                                R_j = max_{u in S} sim(u, j)           (redundancy "signed")

where p_j is the predicted correctness (higher = easier, so low costs are hard
questions) and ``sim`` the canonical cosine of :mod:`ddcf.select.kgreedy.exact`.  The two
redundancies differ only for a candidate whose every cosine to the picks is negative:
"floor" (the default) is what the released ``k_greedy_selection.py`` (``ddcf_greedy_min``)
computes - its redundancy vector starts at zeros and grows with ``np.maximum`` - while
"signed" is eq. 5 as the paper writes it.  Both are exact in every implementation below;
max(0, .) is monotone, so every lower/upper bound on the max similarity stays a bound
on the redundancy.
Conventions, identical in every implementation:

* max over the empty set is 0, so the first pick is the lowest p_j
  (with lamda = 0 every first cost is 0 and row 0 is picked);
* the cost is evaluated in float64 exactly as ``a_j + b * R`` with
  ``a = lamda * p`` (p float32 -> float64) and ``b = 1 - lamda`` (:func:`eq5_costs`);
* the reported ``max_similarity`` is the signed max over S (the floor only enters the cost);
* ties: the lowest row index wins (as ``np.argmin`` does in the released code).

Implementations with identical output (same picks, same costs, same similarities,
bit for bit):

* :func:`ddcf.select.kgreedy.reference.kgreedy_reference` - the straightforward method,
  one pass over all N rows per step;
* :func:`ddcf.select.kgreedy.lazy.kgreedy_fast` - lazy evaluation of the same argmin;
* :func:`ddcf.select.kgreedy.torch.kgreedy_torch` - the reference method on a torch device.

Exactness does not depend on the float32 products agreeing between methods: they
are only used through bounds; every decision that matters is taken on exact
canonical values (see :mod:`ddcf.select.kgreedy.exact`).

Memory: every method reads the embedding matrix (an ndarray or a read-only np.memmap,
float32 or float16; float64 input is cast to float32 once) in blocks of
``block_rows`` or by gathering at most ``sub_batch`` rows at a time; they never
copy it whole and never build an N x N matrix.  They keep O(N) float64 state plus
the k selected rows (k x d float32 and k x d float64).  A memmap larger than RAM
works: the fast method streams it once and then reads only the rows it refreshes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from ddcf.select.kgreedy.exact import CanonicalStore, base_eps, canon_bits, canonicalize, compute_row_bounds, gemm_error


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


REDUNDANCY = ("floor", "signed")  # the values of --redundancy; the first is the default


def floor_flag(redundancy: str) -> bool:
    """True for the released code's redundancy max(0, max sim), False for eq. 5's signed max."""
    if redundancy not in REDUNDANCY:
        raise ValueError(f"redundancy must be one of {', '.join(REDUNDANCY)}, got {redundancy!r}")
    return redundancy == "floor"


def validate_inputs(emb, predicted_correctness, k: int, lamda: float):
    """Check shapes and ranges; return (X float32/float16 2-D, predicted correctness float64, N, d)."""
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
    p = np.asarray(predicted_correctness)
    if p.shape != (n,):
        raise ValueError(f"predicted_correctness has shape {p.shape}, expected ({n},)")
    p = p.astype(np.float64)
    if not np.all(np.isfinite(p)):
        raise ValueError("predicted_correctness contains NaN or inf")
    if not (isinstance(k, (int, np.integer)) and 1 <= k <= n):
        raise ValueError(f"k must be an integer in [1, {n}], got {k!r}")
    lamda = float(lamda)
    if not (0.0 <= lamda <= 1.0):
        raise ValueError(f"lamda must be in [0, 1], got {lamda}")
    if n == 0 or d == 0:
        raise ValueError("empty embedding matrix")
    return x, p, n, d


def rows_f32(x, idx) -> np.ndarray:
    """Rows ``idx`` (sorted int array or slice) as a float32 array (a copy for gathers)."""
    out = x[idx]
    return np.asarray(out, dtype=np.float32)


def single_thread_blas():
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
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def eq5_costs(a: np.ndarray, b: float, m, *, floor: bool) -> np.ndarray:
    # The one cost formula: two separately rounded float64 operations, never fused.  ``floor``
    # clips the max similarity at 0 first (exact, and monotone, so bounds in stay bounds out).
    if floor:
        m = np.maximum(m, 0.0)
    return a + b * m


def exact_setup(emb, predicted_correctness, k, lamda, block_rows):
    """Validated inputs plus the canonical-similarity state every exact implementation starts from.

    Returns ``(x, p, n, d, s, bounds, a, b, base, store)``: cost = ``a[j] + b * max_sim``.
    """
    x, p, n, d = validate_inputs(emb, predicted_correctness, k, lamda)
    lamda = float(lamda)
    s = canon_bits(d)
    bounds = compute_row_bounds(x, s, block_rows=block_rows)
    base = base_eps(d, gemm_error(d, None))
    return x, p, n, d, s, bounds, lamda * p, 1.0 - lamda, base, CanonicalStore(k, d)


def resolve_band(x, band: np.ndarray, s: int, store: CanonicalStore, a: np.ndarray, b: float, *, floor: bool):
    """Exact canonical costs of the sorted candidate rows ``band``; returns (pick, max sim, cost).

    The first minimum is the lowest row index, because ``band`` is sorted.
    """
    mb, invb = canonicalize(rows_f32(x, band), s)
    ms_band = store.max_sims(mb, invb)
    c_band = eq5_costs(a[band], b, ms_band, floor=floor)
    w = int(np.argmin(c_band))
    return int(band[w]), ms_band[w], c_band[w]
