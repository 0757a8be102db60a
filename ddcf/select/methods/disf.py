"""``--method disf``: Diversified File selection (DiSF), the annotation-free diversity baseline.

Fan et al., "Combatting Dimensional Collapse in LLM Pre-Training Data via Diversified File Selection" (DiSF,
ICML 2025, arXiv:2504.20644): pick, greedily, the item whose addition gives the smallest Frobenius norm of the
feature covariance of the selected set, ``C_S = (1/|S|) sum_{s in S} u_s u_s^T`` over the L2-normalised embeddings
``u``.  Since ``trace(C_S) = 1``, ``||C_S||_F^2 = sum_i lambda_i^2`` is smallest when the eigenvalues are uniform:
the selection spreads over as many embedding directions as possible (no dimensional collapse).

The greedy step, exactly: every candidate gives the same ``|S| + 1``, so it minimises
``||M + u_j u_j^T||_F^2 = ||M||_F^2 + 2 u_j^T M u_j + ||u_j||^4`` with ``M = sum_{s in S} u_s u_s^T``, and
``u_j^T M u_j = sum_{s in S} (u_j . u_s)^2``.  So one matrix-vector product per pick updates the score of every
candidate: O(k N d) instead of the straightforward O(k N d^2) (:func:`disf_reference`, which forms ``M + u u^T``
for every candidate; ``benchmarks/bench_disf.py`` measures both in one run).  Float64 throughout (numpy, or torch
on ``--device cuda``).  Ties are common (the first pick ties every unit vector, duplicates tie forever), so they
are decided canonically: every candidate within :data:`TIE` (relative) of the best objective value is a tie and
the earliest pool row wins.  Rounding differences between implementations are ~1e-15, far inside it, so both
implementations and both devices pick the same questions.  Zero embeddings cannot be normalised and are never
picked.

Inputs: the corpus embeddings.  Corpus annotations: none.  The table's ``cost`` column is
``||C_S||_F^2`` of the selection after each pick (lower = more even eigenvalues).
"""

from __future__ import annotations

import numpy as np

from ddcf.runtime import resolve_device
from ddcf.select.methods.common import Context, Picks, Timer, unit_rows

CHUNK = 16384  # rows per block when normalising a memory-mapped matrix
TIE = 1e-9  # relative: objective values this close are equal (rounding is ~1e-15)


def first_best(values: np.ndarray, offset: float = 0.0) -> int:
    """The earliest row whose ``offset + value`` is within TIE of the smallest."""
    best = float(np.min(values))
    return int(np.argmax(values <= best + TIE * max(abs(offset + best), 1.0)))


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
    """Rows in pick order and ``||C_S||_F^2`` after each pick."""
    u, n4 = normalised(x)
    if device.startswith("cuda"):
        return _disf_torch(u, n4, k, device)
    n = len(u)
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
        q += np.square(u @ u[j])
    return rows, cost


def _disf_torch(u: np.ndarray, n4: np.ndarray, k: int, device: str) -> tuple[np.ndarray, np.ndarray]:
    import torch

    U = torch.from_numpy(u).to(device)
    N4 = torch.from_numpy(n4).to(device)
    q = torch.zeros(len(u), dtype=torch.float64, device=device)
    inf = torch.tensor(float("inf"), dtype=torch.float64, device=device)
    taken = torch.zeros(len(u), dtype=torch.bool, device=device)
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
    device = resolve_device(ctx.config.device, "--device")
    with Timer() as t:
        rows, cost = disf_fast(ctx.pool.x, ctx.k, device)
    return Picks(indices=rows, score=cost, engine=f"disf greedy ({'torch ' + device if device != 'cpu' else 'numpy'})",
                 seconds=t.seconds, stats={"final_covariance_frobenius_sq": float(cost[-1]),
                                           "uniform_eigenvalues_bound": 1.0 / min(ctx.k, ctx.pool.x.shape[1])})
