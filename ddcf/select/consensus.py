"""``--stability consensus``: a k-greedy selection that does not hinge on the predictor's training seed (issue 23).

Why: k-greedy's path has near-ties; noise of 1e-4 in predicted correctness can flip one early pick and with it
half of the later ones, while two trainings of the predictor that differ only in their seed differ by ~1e-2.  So
about half of a plain selection (lamda 0.2, k 1,000 on the bundled demo) is decided by the seed.  Averaging the
predictor more does not help (I-stability's notes: 10 or 30 ensemble members, still ~0.55 shared); the rule has to
be smooth in p.

The rule (one k-greedy per draw, the same engine, lamda and --redundancy as the default):

1. ``draws`` versions of predicted correctness: the difficulty table's own p (draw 0), then ``draws - 1`` seeded
   draws ``p + noise * se * z`` (``se`` = the ensemble members' standard error of p, written by the difficulty
   stage as ``predicted_correctness_se``; z standard normal from ``--seed``; clipped to [0, 1] and rounded to
   float32 as the table stores p).  ``noise = sqrt(2)`` draws "another retraining" as the members' spread
   predicts it (two retrainings differ by sqrt(2) se).
2. k-greedy on each draw.
3. Each question's inclusion count (in how many of the draws' selections it is) and mean pick rank (a draw that
   did not pick it counts as rank k).
4. The consensus order: highest count first; ties by lower mean rank, then lower p, then lower row index.
5. The selection: walk that order and keep a question unless its cosine to a question already kept is above the
   redundancy cap, the largest max-similarity-at-pick the plain k-greedy (draw 0) itself accepted; stop at k.

A question the target model finds hard and that is unlike the rest is picked in (nearly) every draw whatever the
seed; the ones k-greedy picks only on one side of a near-tie are picked in some draws, and the count ranks them
smoothly instead of letting one tie decide.  Step 5 exists because two near-duplicates that k-greedy picks in
alternation (one in some draws, the other in the rest) both get a middling count: without the cap the consensus
kept such pairs (even exact duplicates) and its diversity fell (bundled demo, lamda 0.2, k 1,000, 32 draws: mean
max-cos 0.478 vs the plain 0.443; with the cap 0.442).  Measured there (benchmarks/bench_selection_stability.py
--consensus 32, seeds 1, 2, 42): two retrainings share 0.828 of the picks (plain: 0.528), mean p 0.0942 (0.0914);
at k 100 only 0.53 (plain 0.22).
With ``draws = 1`` the selection is the plain k-greedy, pick for pick (its order, and no pick above its own cap).
Cost: ``draws`` k-greedy runs.  The table's ``cost`` column keeps eq. 5's meaning: the cost of each pick in the
final order (lamda p + (1 - lamda) redundancy to the earlier picks).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ddcf.artifacts.difficulty import SE_COLUMN
from ddcf.artifacts.embeddings import unit_rows
from ddcf.errors import DDCFError
from ddcf.select.kgreedy.engine import select as kgreedy
from ddcf.select.methods.common import Picks, max_similarity_at_pick

DEFAULT_NOISE = math.sqrt(2.0)  # another retraining: p_A - p_B has sd sqrt(2) se


def inclusion_counts(selections, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(count, mean rank) of every row 0..n-1 over ``selections`` (each a sequence of rows in pick order): in how
    many it is, and its mean 0-based pick rank, a selection without it counting as rank ``k`` (its length)."""
    count = np.zeros(n, np.int64)
    rank_sum = np.zeros(n, np.float64)
    for sel in selections:
        sel = np.asarray(sel, np.int64)
        if len(np.unique(sel)) != len(sel):
            raise ValueError("a selection repeats a row")
        count[sel] += 1
        rank_sum += len(sel)  # unpicked: rank k ...
        rank_sum[sel] += np.arange(len(sel)) - len(sel)  # ... picked: its own rank
    m = max(len(selections), 1)
    return count, rank_sum / m


def consensus_order(selections, n: int, k: int | None = None, p=None) -> np.ndarray:
    """Rows by highest inclusion count; ties by lower mean rank, then lower ``p`` (when given), then lower row
    index.  The first ``k`` (all n when None)."""
    count, mean_rank = inclusion_counts(selections, n)
    keys = [np.arange(n), mean_rank, -count] if p is None else [np.arange(n), np.asarray(p), mean_rank, -count]
    order = np.lexsort(keys)  # the last key is the primary one
    return order[:k].astype(np.int64)


CAP_TOLERANCE = 1e-6  # the engine's canonical cosines and a float64 dot product may differ in the last bits


def capped_prefix(x, order, k: int, cap: float, chunk: int = 4096) -> np.ndarray:
    """The first k rows of ``order`` whose cosine to every row kept before them is <= ``cap``."""
    kept: list[int] = []
    kept_v = np.empty((0, x.shape[1]), np.float64)
    for start in range(0, len(order), chunk):
        cand = np.asarray(order[start:start + chunk], np.int64)
        v = unit_rows(x, cand)
        best = (v @ kept_v.T).max(1) if len(kept) else np.full(len(cand), -np.inf)
        new = []
        for i, q in enumerate(cand):
            if best[i] > cap + CAP_TOLERANCE:
                continue
            kept.append(int(q))
            new.append(i)
            if len(kept) == k:
                return np.asarray(kept, np.int64)
            best = np.maximum(best, v @ v[i])
        kept_v = np.concatenate([kept_v, v[new]])
    return np.asarray(kept, np.int64)  # fewer than k: every other row is too close to a kept one


def perturbed(p, se, draws: int, noise: float, seed: int):
    """The ``draws`` versions of p: p itself, then ``p + noise * se * z`` (one seeded generator for all)."""
    p = np.asarray(p, np.float64)
    se = np.asarray(se, np.float64)
    yield p
    rng = np.random.default_rng(seed)
    for _ in range(draws - 1):
        q = np.clip(p + noise * se * rng.standard_normal(len(p)), 0.0, 1.0)
        yield q.astype(np.float32).astype(np.float64)


@dataclass
class ConsensusResult:
    indices: np.ndarray  # rows in final order
    count: np.ndarray  # inclusion count of each pick (over the draws)
    mean_rank: np.ndarray  # mean pick rank of each pick
    engine: str
    seconds: float
    cap: float  # the redundancy cap (step 5)
    stats: dict = field(default_factory=dict)


def consensus_kgreedy(x, p, se, k: int, lamda: float, select: Callable, draws: int = 32,
                      noise: float = DEFAULT_NOISE, seed: int = 0, **select_kwargs) -> ConsensusResult:
    """:data:`module <ddcf.select.consensus>`'s rule; ``select(x, p, k, lamda, **select_kwargs)`` is the k-greedy
    engine (``ddcf.select.kgreedy.engine.select``), returning an object with ``indices`` and ``method``."""
    if draws < 1:
        raise ValueError("draws must be >= 1")
    t0 = time.perf_counter()
    n = len(p)
    selections, engine, cap = [], "", 1.0
    for i, q in enumerate(perturbed(p, se, draws, noise, seed)):
        r = select(x, q, k, lamda, **select_kwargs)
        selections.append(np.asarray(r.indices, np.int64))
        engine = r.method
        if i == 0:
            msim = np.asarray(r.max_similarity, np.float64)
            cap = float(np.nanmax(msim)) if np.isfinite(msim).any() else 1.0
    order = consensus_order(selections, n, p=p)
    rows = capped_prefix(x, order, k, cap)
    if len(rows) < k:  # the cap left too few in the whole pool (pathological): fill up in consensus order
        rows = np.concatenate([rows, order[~np.isin(order, rows)][: k - len(rows)]])
    count, mean_rank = inclusion_counts(selections, n)
    union = int(np.count_nonzero(count))
    stats = dict(stability="consensus", draws=int(draws), noise=float(noise), seed=int(seed),
                 union_size=union,  # distinct questions any draw picked
                 redundancy_cap=round(cap, 6),
                 picks_in_every_draw=round(float(np.mean(count[rows] == draws)), 4),
                 mean_inclusion=round(float(np.mean(count[rows]) / draws), 4),
                 shared_with_plain=round(float(np.isin(rows, selections[0]).mean()), 4))
    return ConsensusResult(indices=rows, count=count[rows], mean_rank=mean_rank[rows],
                           engine=f"consensus of {draws} x {engine}", seconds=time.perf_counter() - t0, cap=cap,
                           stats=stats)


def pool_se(pool) -> np.ndarray:
    """The members' standard error of every pool question's p (read with the pool's difficulty table); a
    :class:`DDCFError` when the table has none (the paper's predictor, a 1-member ensemble, older tables)."""
    path = pool.meta.get("difficulty_file")
    fix = ("rerun `ddcf difficulty` with the default predictor (--arch factor, --ensemble >= 2), whose table has "
           "the column, or select without --stability consensus.")
    if pool.se is None:
        raise DDCFError(f"--stability consensus needs each question's {SE_COLUMN} (the predictor's ensemble "
                        f"members' spread), and the difficulty table {path} has no such column.", fix)
    if not np.all(np.isfinite(pool.se) & (pool.se >= 0)):
        raise DDCFError(f"The difficulty table {path} has missing, negative or non-finite {SE_COLUMN} values for "
                        "questions of the pool.", fix)
    return pool.se


def select(ctx):
    """``--method ddcf --stability consensus``: the consensus of ``--consensus_draws`` k-greedy runs."""
    cfg = ctx.config
    pool = ctx.pool
    p = np.asarray(pool.predicted_correctness, np.float64)
    se = pool_se(pool)
    r = consensus_kgreedy(pool.x, p, se, ctx.k, cfg.lamda, kgreedy, draws=cfg.consensus_draws,
                          noise=cfg.consensus_noise, seed=cfg.seed, device=cfg.device, redundancy=cfg.redundancy,
                          shards=cfg.kgreedy_shards, devices=cfg.kgreedy_devices)
    msim = max_similarity_at_pick(pool.x, r.indices)
    red = np.nan_to_num(np.maximum(msim, 0.0) if cfg.redundancy == "floor" else msim, nan=0.0)
    cost = cfg.lamda * p[r.indices] + (1.0 - cfg.lamda) * red  # eq. 5 of each pick in the final order
    return Picks(indices=r.indices, score=cost, engine=r.engine, stats=r.stats, seconds=r.seconds,
                 max_similarity=msim)
