"""Figure 4's trade-off, computed: the k-greedy selection of the target for lambda in 0 ... 1 on the same pool.

For the first ddcf selection given: its model, k and --max_score pool (read again through
:func:`ddcf.select.pools.load_pool`), the exact k-greedy of :func:`ddcf.select.kgreedy.engine.select` at every lambda of
the grid plus the selection's own; each point is the picks' mean predicted correctness and mean pairwise cosine.
The sweep scores redundancy as the selection did (its ``--redundancy``; selections written before that option
existed used the signed max, eq. 5 as written).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ddcf.artifacts.embeddings import unit_rows
from ddcf.report.metrics import pairwise_stats
from ddcf.select.kgreedy.engine import select
from ddcf.select.pools import load_pool


def lamda_grid(points: int, own: float | None) -> list[float]:
    grid = [round(float(v), 6) for v in np.linspace(0.0, 1.0, points)] if points > 1 else [0.0] * (points == 1)
    if own is not None and all(abs(own - g) > 1e-9 for g in grid):
        grid.append(float(own))
    return sorted(grid)


def selection_redundancy(sel) -> str:
    """The --redundancy a ddcf selection was made with: report.json, else select.config.yaml, else "signed"
    (the only behaviour before the option existed)."""
    return str(sel.report.get("redundancy") or sel.options.get("redundancy") or "signed")


def lamda_sweep(layout, sel, points: int, device: str = "auto", show_progress: bool = False, step=None) -> dict:
    """``step(name)``: a context manager around each lambda's selection (the report's progress), or None."""
    redundancy = selection_redundancy(sel)
    pool = load_pool(layout, sel.model, sel.max_score)
    pc = pool.predicted_correctness
    k = min(sel.k, len(pool.ids))
    out = {"model": sel.model, "k": k, "max_score": sel.max_score, "selection": sel.label,
           "selection_lamda": sel.lamda, "redundancy": redundancy, "points": [], "warnings": []}
    if pool.meta.get("pool_ids_sha256") and sel.meta.get("pool_ids_sha256") not in (None, pool.meta["pool_ids_sha256"]):
        out["warnings"].append(f"the sweep's pool (--max_score {sel.max_score:g}) is not the pool {sel.label} was "
                               "selected from (another --pool file or changed inputs): the sweep is indicative.")
    for lamda in lamda_grid(points, sel.lamda):
        with (step(f"lambda sweep: k-greedy at lambda={lamda:g}") if step else contextlib.nullcontext()):
            result = select(pool.x, pc, k, lamda, device=device, progress=False, redundancy=redundancy)
        rows = np.asarray(result.indices)
        mean_sim, _ = pairwise_stats(unit_rows(pool.x, np.sort(rows), dtype=np.float32))
        point = {"lamda": lamda, "mean_predicted_correctness": float(pc[rows].mean()),
                 "mean_pairwise_similarity": mean_sim}
        if sel.lamda is not None and abs(lamda - sel.lamda) < 1e-9:
            point["is_selection"] = True
            point["reproduces_selection"] = [pool.ids[r] for r in rows] == sel.ids
        out["points"].append(point)
    return out
