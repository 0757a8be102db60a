"""``--method disf``: Diversified File selection (DiSF), the annotation-free diversity baseline.

Fan et al., "Combatting Dimensional Collapse in LLM Pre-Training Data via Diversified File Selection" (DiSF,
ICML 2025, arXiv:2504.20644; code: MediaBrain-SJTU/DiSF, ``DISF/select_disf.py``).  Two modes (``--disf_mode``):

``batched`` (default, the released selector).  The pool is cut, in file order, into consecutive batches of
``--disf_batch`` rows (1,024: the released ``batchsize`` 512 x ``scale`` 2) and each batch runs its own greedy:

* the first pick of a batch is a uniform random row of it (the released ``random.randint(0, batch_size - 1)``
  of Python's ``random`` module; here ``random.Random(--seed)``, one draw per batch in batch order, so a released
  run after ``random.seed(s)`` draws the same rows);
* every further pick is the unpicked row of the batch that gives the smallest
  ``sum_{a != b} C_ab^2``, ``C`` the correlation matrix of the picked rows plus the candidate: each embedding
  dimension centred and divided by ``sqrt(1e-8 + unbiased variance)``, ``C = Z^T Z / (n - 1)`` (the released
  ``cal_corre``, without its constant factor 1/10,000).  Raw embeddings, no L2 normalisation (the released
  features are unnormalised mean-pooled Contriever vectors).  Ties: the earliest row (the released strict ``<``).
* batch budgets: the released code takes 16 of every 1,024 rows (``top_k`` = 8 x ``scale``), i.e. k is fixed by
  N.  Here k is ``--num_select`` and batch b gets ``floor(k * stop_b / N) - floor(k * start_b / N)`` picks
  (proportional to its size, summing to k exactly); with N = 1,024 m and k = 16 m every batch gets 16, as
  released.  Rows after the last full batch form a smaller last batch (the released driver never visits them).

The fast greedy is exact for that objective: with the picked set's centred rows ``Y`` (n_s x d) and the
candidate's offset ``delta`` from their mean, the new covariance is ``G + v v^T`` (``G = Y^T Y / (n - 1)``,
``v = sqrt(n_s / n / (n - 1)) delta``, Welford's update), so with ``w = 1 / (1e-8 + diag(G) + v^2)``::

    sum_{a,b} C_ab^2 = w^T (G o G) w + 2 (w o v)^T G (w o v) + (sum_a w_a v_a^2)^2

and ``w^T (G o G) w = ||Y diag(w) Y^T||_F^2 / (n - 1)^2``: matrix products over every candidate at once,
O(B d min(n_s^2, d)) per pick instead of the released O(B n_s d^2) (one correlation matrix per candidate,
:func:`batched_reference`; ``benchmarks/bench_disf.py`` measures both).  Float64; the released code runs in
float32, so a near-tie closer than float32 rounding may be decided differently (none on the test input).

``whole_pool`` (ddcf's earlier mode).  One greedy over the whole pool: pick the item whose addition gives the
smallest Frobenius norm of the second-moment matrix of the selected set, ``C_S = (1/|S|) sum_{s in S} u_s u_s^T``
over the L2-normalised embeddings ``u`` (the paper's stated objective without the batching).  Since
``trace(C_S) = 1``, ``||C_S||_F^2 = sum_i lambda_i^2`` is smallest when the eigenvalues are uniform.
Every candidate gives the same ``|S| + 1``, so it minimises ``||M + u_j u_j^T||_F^2 = ||M||_F^2 + 2 u_j^T M u_j
+ ||u_j||^4`` with ``M = sum_{s in S} u_s u_s^T``, and ``u_j^T M u_j = sum_{s in S} (u_j . u_s)^2``: one
matrix-vector product per pick updates every candidate, O(k N d) instead of O(k N d^2) (:func:`disf_reference`).
Float64 (numpy, or torch on ``--device cuda``).  Ties (the first pick ties every unit vector) go to the earliest
row within :data:`TIE`; zero embeddings are never picked.

Inputs: the corpus embeddings.  Corpus annotations: none.  The table's ``cost`` column: batched, the sum of
squared off-diagonal correlations of the batch's picks so far (NaN for a batch's random first pick);
whole_pool, ``||C_S||_F^2`` after each pick.
"""

from __future__ import annotations

import random

import numpy as np

from ddcf.artifacts.embeddings import unit_rows
from ddcf.runtime import resolve_device
from ddcf.select.methods.common import Context, Picks, Timer

MODES = ("batched", "whole_pool")
BATCH = 1024  # rows per batch of the released selector (batchsize 512 x scale 2)
EPS = 1e-8  # the released cal_corre: sqrt(eps + variance)
CHUNK = 16384  # rows per block when normalising a memory-mapped matrix
TIE = 1e-9  # relative: objective values this close are equal (rounding is ~1e-15)
#: rows per block of the whole-pool greedy's per-pick pass (float64: 84 MB at d = 2,560)
PASS_ROWS = 4096
#: float64 unit rows the whole-pool greedy keeps between picks (the rest is recomputed per pick)
CACHE_BYTES = 1 << 30


def first_best(values: np.ndarray, offset: float = 0.0) -> int:
    """The earliest row whose ``offset + value`` is within TIE of the smallest."""
    best = float(np.min(values))
    return int(np.argmax(values <= best + TIE * max(abs(offset + best), 1.0)))


# ---------------------------------------------------------------- batched (the released selector)

def batch_plan(n: int, k: int, batch: int = BATCH) -> list[tuple[int, int, int]]:
    """(start, stop, picks) of every batch: consecutive rows, picks proportional to size, summing to k."""
    starts = list(range(0, n, batch))
    return [(s, min(s + batch, n), k * min(s + batch, n) // n - k * s // n) for s in starts]


def first_picks(plan, seed: int) -> list[int]:
    """The random first pick of every batch with a budget, as an offset inside the batch (released rule)."""
    rng = random.Random(seed)
    return [rng.randint(0, stop - start - 1) for start, stop, picks in plan if picks > 0]


def off_diagonal_correlation(rows: np.ndarray) -> float:
    """``sum_{a != b} C_ab^2`` of the rows' correlation matrix, by its definition (the released objective)."""
    z = np.asarray(rows, dtype=np.float64)
    z = z - z.mean(axis=0, keepdims=True)
    z = z / np.sqrt(EPS + z.var(axis=0, ddof=1, keepdims=True))
    c = z.T @ z / (len(z) - 1)
    return float(np.sum(c * c) - np.sum(np.diag(c) ** 2))


def usable(score: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """Picked rows +inf; a non-finite objective (non-finite embeddings) 1e300: picked only last (1e300 + TIE
    tolerance stays finite, so picked rows never tie with it)."""
    return np.where(taken, np.inf, np.where(np.isfinite(score), score, 1e300))


def _batch_fast(x: np.ndarray, budget: int, first: int) -> tuple[list[int], list[float]]:
    """One batch's greedy with the closed-form objective of every candidate (module docstring)."""
    b, d = x.shape
    sel, cost = [first], [float("nan")]
    taken = np.zeros(b, dtype=bool)
    taken[first] = True
    for _ in range(1, budget):
        ns = len(sel)
        n = ns + 1
        mu = x[sel].mean(axis=0)
        y = x[sel] - mu  # centred picks: their covariance is G = Y^T Y / (n - 1)
        v = (x - mu) * np.sqrt(ns / n / (n - 1))
        v2 = v * v
        g = np.einsum("ij,ij->j", y, y) / (n - 1)
        w = 1.0 / (EPS + g + v2)
        if ns * (ns + 1) // 2 <= d:  # w^T (G o G) w through the n_s^2 products of picked rows
            iu, ju = np.triu_indices(ns)
            a = w @ (y[iu] * y[ju]).T
            a = a * a
            t1 = (2.0 * a.sum(axis=1) - a[:, iu == ju].sum(axis=1)) / (n - 1) ** 2
        else:  # through the d x d matrix G o G
            gm = y.T @ y / (n - 1)
            t1 = np.einsum("ij,ij->i", w @ (gm * gm), w)
        wv = w * v
        u = wv @ y.T
        t2 = 2.0 * np.einsum("ij,ij->i", u, u) / (n - 1)
        t3 = np.einsum("ij,ij->i", w, v2) ** 2
        diag = np.einsum("ij,ij->i", (g + v2) * w, (g + v2) * w)
        score = usable(t1 + t2 + t3 - diag, taken)
        j = first_best(score)
        sel.append(j)
        cost.append(float(score[j]))
        taken[j] = True
    return sel, cost


def _batch_reference(x: np.ndarray, budget: int, first: int) -> tuple[list[int], list[float]]:
    """One batch's greedy as released: the correlation matrix of the picks plus each candidate, one at a time."""
    sel, cost = [first], [float("nan")]
    for _ in range(1, budget):
        vals = np.full(len(x), np.inf)
        for j in range(len(x)):
            if j not in sel:
                vals[j] = off_diagonal_correlation(x[sel + [j]])
        vals = usable(vals, np.isin(np.arange(len(x)), sel))
        j = first_best(vals)
        sel.append(j)
        cost.append(float(vals[j]))
    return sel, cost


def disf_batched(x, k: int, batch: int = BATCH, seed: int = 0, first: list[int] | None = None,
                 reference: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Rows in pick order (batch by batch) and each pick's objective; ``first`` overrides the random first picks."""
    plan = batch_plan(x.shape[0], k, batch)
    first = list(first_picks(plan, seed) if first is None else first)
    greedy = _batch_reference if reference else _batch_fast
    rows, cost = [], []
    for start, stop, picks in plan:
        if picks == 0:
            continue
        sel, c = greedy(np.asarray(x[start:stop], dtype=np.float64), picks, first.pop(0))
        rows += [start + s for s in sel]
        cost += c
    return np.array(rows, dtype=np.int64), np.array(cost, dtype=np.float64)


def batched_reference(x, k: int, batch: int = BATCH, seed: int = 0, first: list[int] | None = None):
    return disf_batched(x, k, batch, seed, first, reference=True)


# ---------------------------------------------------------------- whole_pool (ddcf's earlier mode)

def norms(x) -> np.ndarray:
    """Float64 L2 norm of every row of x (blockwise from a memmap), the ones :func:`unit_rows` divides by."""
    out = np.empty(x.shape[0])
    for s in range(0, x.shape[0], PASS_ROWS):
        out[s:s + PASS_ROWS] = np.linalg.norm(np.asarray(x[s:s + PASS_ROWS], dtype=np.float64), axis=1)
    return out


def unit_block(x, s: int, e: int, norm: np.ndarray) -> np.ndarray:
    """Rows s:e of :func:`normalised`'s unit rows, bit for bit (the same float64 quotient, row by row)."""
    n = norm[s:e, None]
    return np.asarray(x[s:e], dtype=np.float64) / np.where(n > 0, n, 1.0)


def fourth_powers(x, norm: np.ndarray) -> np.ndarray:
    """``||u||^4`` of every unit row, +inf for zero rows (never picked)."""
    sq = np.empty(x.shape[0])
    for s in range(0, x.shape[0], PASS_ROWS):
        u = unit_block(x, s, s + PASS_ROWS, norm)
        sq[s:s + PASS_ROWS] = np.einsum("ij,ij->i", u, u)
    return np.where(sq > 0, sq * sq, np.inf)


def normalised(x) -> tuple[np.ndarray, np.ndarray]:
    """Float64 unit rows of x (blockwise from a memmap) and ||u||^4 with +inf for zero rows (never picked)."""
    n = x.shape[0]
    u = np.empty((n, x.shape[1]), dtype=np.float64)
    for s in range(0, n, CHUNK):
        u[s:s + CHUNK] = unit_rows(x[s:s + CHUNK])
    sq = np.einsum("ij,ij->i", u, u)
    return u, np.where(sq > 0, sq * sq, np.inf)


def objective(u: np.ndarray) -> float:
    """``||C_S||_F^2`` of the rows of ``u`` (already unit): via the |S| x |S| Gram matrix, ||U^T U|| = ||U U^T||."""
    if len(u) == 0:
        return float("nan")
    g = u @ u.T
    return float(np.sum(g * g) / len(u) ** 2)


def disf_fast(x, k: int, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Rows in pick order and ``||C_S||_F^2`` after each pick.

    No float64 copy of the matrix (issue 25: 3.9 GB at 189k x 2,560): each pick recomputes the unit rows block
    by block from x and the stored norms (the same quotients as :func:`normalised`, so the same picks)."""
    norm = norms(x)
    n4 = fourth_powers(x, norm)
    if device.startswith("cuda"):
        return _disf_torch(x, norm, n4, k, device)
    n = x.shape[0]
    div = np.where(norm > 0, norm, 1.0)[:, None]
    buf = np.empty((min(n, PASS_ROWS), x.shape[1]))
    # the first blocks' unit rows kept up to CACHE_BYTES (the whole matrix below ~1 GB: as fast as a full copy);
    # the others recomputed each pick (x -> float64 -> / norm, the same quotients: same picks, more time)
    cache = {s: unit_block(x, s, s + PASS_ROWS, norm)
             for s in range(0, min(n, CACHE_BYTES // (8 * PASS_ROWS * x.shape[1]) * PASS_ROWS), PASS_ROWS)}
    q = np.zeros(n)  # u_j^T M u_j
    taken = np.zeros(n, dtype=bool)
    rows, cost = np.empty(k, dtype=np.int64), np.empty(k)
    fro = 0.0  # ||M||_F^2
    for t in range(k):
        score = np.where(taken, np.inf, 2.0 * q + n4)
        j = first_best(score, fro)
        fro += float(score[j])
        rows[t], taken[j] = j, True
        cost[t] = fro / (t + 1) ** 2
        uj = unit_block(x, j, j + 1, norm)[0]
        for s in range(0, n, PASS_ROWS):
            e = min(n, s + PASS_ROWS)
            u = cache[s] if s in cache else np.divide(x[s:e], div[s:e], out=buf[:e - s], dtype=np.float64)
            q[s:e] += np.square(u @ uj)
    return rows, cost


def _disf_torch(x, norm: np.ndarray, n4: np.ndarray, k: int, device: str) -> tuple[np.ndarray, np.ndarray]:
    import torch

    U = torch.empty((x.shape[0], x.shape[1]), dtype=torch.float64, device=device)
    for s in range(0, x.shape[0], PASS_ROWS):  # built on the device block by block: no host copy of the matrix
        U[s:s + PASS_ROWS] = torch.from_numpy(unit_block(x, s, s + PASS_ROWS, norm)).to(device)
    N4 = torch.from_numpy(n4).to(device)
    q = torch.zeros(len(n4), dtype=torch.float64, device=device)
    inf = torch.tensor(float("inf"), dtype=torch.float64, device=device)
    taken = torch.zeros(len(n4), dtype=torch.bool, device=device)
    fro = torch.zeros((), dtype=torch.float64, device=device)
    rows, scores = [], []
    for _ in range(k):
        score = torch.where(taken, inf, 2.0 * q + N4)
        best = score.min()
        j = torch.argmax((score <= best + TIE * torch.clamp((fro + best).abs(), min=1.0)).to(torch.uint8))
        fro = fro + score[j]
        rows.append(j)
        scores.append(score[j])
        taken[j] = True
        q += torch.square(U @ U[j])
    rows_np = torch.stack(rows).cpu().numpy().astype(np.int64)
    fro = np.cumsum(torch.stack(scores).cpu().numpy())
    return rows_np, fro / np.arange(1, k + 1) ** 2


def disf_reference(x, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The straightforward greedy: for every candidate, form ``M + u u^T`` and take its Frobenius norm."""
    u, n4 = normalised(x)
    n, d = u.shape
    m = np.zeros((d, d))
    rows, cost = [], []
    for t in range(k):
        vals = np.full(n, np.inf)
        for j in range(n):
            if j not in rows and np.isfinite(n4[j]):
                vals[j] = float(np.sum(np.square(m + np.outer(u[j], u[j]))))
        best_j = first_best(vals)
        best = float(vals[best_j])
        rows.append(best_j)
        m += np.outer(u[best_j], u[best_j])
        cost.append(best / (t + 1) ** 2)
    return np.array(rows, dtype=np.int64), np.array(cost)


def select(ctx: Context) -> Picks:
    config = ctx.config
    mode = getattr(config, "disf_mode", "batched")
    if mode == "batched":
        batch = int(getattr(config, "disf_batch", BATCH))
        plan = batch_plan(ctx.pool.x.shape[0], ctx.k, batch)
        with Timer() as t:
            rows, cost = disf_batched(ctx.pool.x, ctx.k, batch, ctx.seed)
        return Picks(indices=rows, score=cost, engine="disf batched greedy (numpy)", seconds=t.seconds,
                     stats={"mode": mode, "batch_rows": batch, "batches": sum(p > 0 for _, _, p in plan),
                            "picks_per_batch": sorted({p for _, _, p in plan}),
                            "first_picks": first_picks(plan, ctx.seed)[:20]})
    device = resolve_device(config.device, "--device")
    with Timer() as t:
        rows, cost = disf_fast(ctx.pool.x, ctx.k, device)
    engine = f"disf whole-pool greedy ({'torch ' + device if device != 'cpu' else 'numpy'})"
    return Picks(indices=rows, score=cost, engine=engine,
                 seconds=t.seconds, stats={"mode": mode, "final_covariance_frobenius_sq": float(cost[-1]),
                                           "uniform_eigenvalues_bound": 1.0 / min(ctx.k, ctx.pool.x.shape[1])})
