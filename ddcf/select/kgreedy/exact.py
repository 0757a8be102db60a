"""Canonical similarity arithmetic shared by every k-greedy implementation.

Why this module exists
----------------------
Two float32 dot products of the same pair of vectors can differ in the last bit
when one is computed by a matrix-vector product and the other inside a
matrix-matrix product (BLAS kernels sum in different orders; the GPU differs
again).  A lazy, batched selector would then disagree with the straightforward
one on near-ties.  So we define *one* similarity, the **canonical cosine**, that
every implementation evaluates bit for bit, and we only ever compare costs at
that level:

1. Each row ``x`` is rounded to a fixed-point grid with ``s`` fractional bits
   relative to its largest component: ``E = frexp(max|x|)`` exponent (so
   ``max|x| < 2**E``), ``m = rint(x * 2**(s - E))``.  ``m`` is a vector of
   integers with ``|m_i| <= 2**s``.  ``s`` is the largest value with
   ``d * 4**s <= 2**53`` (20 for d = 2560, 22 for d = 384).
2. Every partial sum of ``m_u . m_j`` is then an integer below ``2**53``, so the
   float64 dot product is **exact in any summation order** (BLAS blocking, FMA,
   threads, GPU): no implementation can disagree.  The same holds for
   ``|m|**2``.
3. ``sim(u, j) = fl(dot(m_u, m_j) * fl(inv_u * inv_j))`` with
   ``inv = fl(1 / fl(sqrt(|m|**2)))``.  Multiplication is commutative in IEEE
   arithmetic, so ``sim(u, j) == sim(j, u)`` bit for bit.

The canonical cosine differs from the exact cosine of the raw rows by at most
``r_u + r_j`` with ``r = sqrt(d) * 2**(E - s) / |x|`` (the rounding error of ``m``
relative to its length; about 1e-5 for a typical unit row at d = 2560, while the
difference actually observed is ~1e-7): far below the precision of any
embedding model, and the price of a similarity no implementation can disagree on.
Rows are scale-free (no normalisation needed); an all-zero row has similarity 0
with everything.

Cheap approximate similarities (float32 BLAS) are used to *prune*; each comes
with a rigorous error bound (:class:`RowBounds`), and a candidate is only
declared the winner once its canonical cost is known exactly and every other
candidate's cost is provably larger (or equal with a larger row index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

U32 = 2.0**-24  # unit round-off of float32
U64 = 2.0**-53  # unit round-off of float64

NORM_CHUNK = 32  # columns per float32 partial sum when estimating row norms (and max|x_i|)
SLACK = 1e-12  # absolute slack that absorbs every float64 rounding in the bounds


def canon_bits(d: int) -> int:
    """Largest ``s`` (<= 24, so ``m`` is exact in float32) with ``d * 4**s <= 2**53``."""
    if d < 1:
        raise ValueError("embedding dimension must be >= 1")
    s = 0
    while s < 24 and d * 4 ** (s + 1) <= 2**53:
        s += 1
    return s


def gamma(n: int, u: float) -> float:
    """Higham's gamma_n = n u / (1 - n u): bound on the relative error of an n-term dot product."""
    return n * u / (1.0 - n * u)


def gemm_error(d: int, chunk: int | None) -> float:
    """Bound on |fl(x.y) - x.y| / (|x| |y|) for float32 products of length ``d``.

    ``chunk=None``: one float32 dot product (any summation order).
    Otherwise: float32 partial products over ``chunk`` columns, summed in float64.
    """
    if chunk is None or chunk >= d:
        return gamma(d, U32)
    n_chunks = -(-d // chunk)
    return gamma(chunk, U32) * (1 + gamma(n_chunks, U64)) + gamma(n_chunks, U64)


# --------------------------------------------------------------------------- canonical rows
def canonicalize(rows: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Canonical integer rows ``m`` (float64 holding integers) and ``inv = 1/|m|`` (0 for zero rows)."""
    x = np.asarray(rows, dtype=np.float64)  # exact: float32/float16 -> float64
    if x.ndim != 2:
        raise ValueError("canonicalize expects a 2-D block of rows")
    amax = np.max(np.abs(x), axis=1) if x.shape[1] else np.zeros(len(x))
    _, e = np.frexp(amax)  # amax = f * 2**e with 0.5 <= f < 1, so every |x_i| < 2**e
    m = np.rint(np.ldexp(x, (s - e)[:, None]))  # power-of-two scaling is exact; rint = half-to-even
    nsq = np.einsum("ij,ij->i", m, m)  # exact: integer partial sums < 2**53
    inv = np.zeros(len(m))
    nz = nsq > 0
    inv[nz] = 1.0 / np.sqrt(nsq[nz])
    return m, inv


def canonical_sims(m_a: np.ndarray, inv_a: np.ndarray, m_b: np.ndarray, inv_b: np.ndarray) -> np.ndarray:
    """Canonical cosines between two sets of canonical rows: shape (len(a), len(b)), float64."""
    dots = m_a @ m_b.T  # exact (see module docstring)
    return dots * (inv_a[:, None] * inv_b[None, :])


class CanonicalStore:
    """Canonical rows of the selected items, appended in pick order (k x d float64)."""

    def __init__(self, capacity: int, d: int):
        self.m = np.empty((max(capacity, 1), d), dtype=np.float64)
        self.inv = np.empty(max(capacity, 1), dtype=np.float64)
        self.n = 0

    def append(self, m_row: np.ndarray, inv: float) -> None:
        self.m[self.n] = m_row
        self.inv[self.n] = inv
        self.n += 1

    def max_sims(self, m: np.ndarray, inv: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Exact max canonical similarity of each given row over stored items [start, stop)."""
        stop = self.n if stop is None else stop
        if stop <= start:
            return np.full(len(m), -np.inf)
        return canonical_sims(m, inv, self.m[start:stop], self.inv[start:stop]).max(axis=1)


# --------------------------------------------------------------------------- bounds for approximate sims
@dataclass
class RowBounds:
    """Per-row quantities that turn cheap float32 similarities into rigorous bounds.

    ``inv``: approximate 1/|x| (float64) with relative error at most ``eta``.
    ``r``: bound on |x/|x| - m/|m||, so |cos(x_u, x_j) - sim(u, j)| <= r_u + r_j (+ rounding).
    The approximate similarity ``g * (inv_u * inv_j)``, where ``g`` is a float32 dot
    product with relative error ``e_g`` (see :func:`gemm_error`), is within
    :meth:`eps` of the canonical similarity.
    """

    inv: np.ndarray
    r: np.ndarray
    eta: float
    s: int
    d: int


def norm_eta(d: int) -> float:
    """Bound on the relative error of the approximate 1/|x| of :func:`compute_row_bounds`."""
    c = min(NORM_CHUNK, d)
    n_chunks = -(-d // c)
    # squares are non-negative, so the relative error of the chunked sum is bounded by rel;
    # inv = 1/sqrt(nsq~) adds rel/2/(1-rel) plus the sqrt and division rounding.
    rel = gamma(c, U32) * (1 + gamma(n_chunks, U64)) + gamma(n_chunks, U64)
    return 0.5 * rel / (1 - rel) + 3 * U64


def base_eps(d: int, e_g: float) -> float:
    """Bound on |approx - cos(x_u, x_j)| for float32 products with relative error ``e_g``.

    approx = g * inv_u * inv_j with |g - x_u.x_j| <= e_g |x_u||x_j| and inv within eta:
    |approx - cos| <= e_g (1+eta)^2 (1+4u) + |cos| ((1+eta)^2 (1+4u) - 1), |cos| <= 1.
    The canonical similarity is a further r_u + r_j away (see RowBounds).
    """
    grow = (1 + norm_eta(d)) ** 2 * (1 + 4 * U64)
    return e_g * grow + (grow - 1) + SLACK


def compute_row_bounds(x: np.ndarray, s: int, block_rows: int = 2048, on_block=None) -> RowBounds:
    """One streaming pass over ``x`` (ndarray or read-only memmap): approximate norms and bounds.

    Reads each row once, in blocks of ``block_rows``; keeps O(N) floats, never a copy of
    ``x``.  ``on_block(start, rows_f32, bounds_so_far)`` is called after each block while
    the block is still in cache (the fast selector does its first similarity pass there).
    """
    n, d = x.shape
    c = min(NORM_CHUNK, d)
    full = (d // c) * c
    n_chunks = -(-d // c)
    g_c = gamma(c, U32)
    rel = g_c * (1 + gamma(n_chunks, U64)) + gamma(n_chunks, U64)
    eta = norm_eta(d)
    inv = np.zeros(n)
    r = np.zeros(n)
    bounds = RowBounds(inv=inv, r=r, eta=eta, s=s, d=d)
    sqrt_d = math.sqrt(d)
    for a in range(0, n, block_rows):
        xb = np.asarray(x[a : a + block_rows], dtype=np.float32)
        b = len(xb)
        x3 = xb[:, :full].reshape(b, full // c, c)
        parts = np.einsum("ijk,ijk->ij", x3, x3)
        if full < d:
            tail = xb[:, full:]
            parts = np.concatenate([parts, np.einsum("ij,ij->i", tail, tail)[:, None]], axis=1)
        nsq = parts.sum(axis=1, dtype=np.float64)
        # max|x_i| <= the largest chunk norm; the float32 chunk sums are low by at most g_c
        amax_hi = np.sqrt(parts.max(axis=1).astype(np.float64) / (1 - g_c)) * (1 + 4 * U64)
        _, e = np.frexp(amax_hi)  # every |x_i| < 2**e, as in canonicalize (whose e can only be smaller)
        nz = nsq > 0
        blk_inv = np.zeros(b)
        blk_inv[nz] = 1.0 / np.sqrt(nsq[nz])
        norm_lo = np.sqrt(nsq) * (1 - rel)  # a lower bound on |x|
        blk_r = np.zeros(b)
        blk_r[nz] = sqrt_d * np.ldexp(1.0, e[nz] - s) / norm_lo[nz] * (1 + 4 * U64)
        inv[a : a + b] = blk_inv
        r[a : a + b] = blk_r
        if on_block is not None:
            on_block(a, xb, bounds)
    return bounds
