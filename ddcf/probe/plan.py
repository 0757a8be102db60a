"""Which seed questions a new model should answer first: the probe planner (``ddcf probe plan``).

Every strategy sees the same thing: the known models' predicted P(correct) on each candidate question (the
trained predictor, calibrated), and for ``doptimal`` also how each question's logit moves with the new model's
row (``ddcf.probe.rowfit.information_basis``).  Strategies:

* ``random``: uniform;
* ``spread``: the variance of P(correct) across the known models (questions the models disagree on);
* ``information``: mean over the known models of ``p (1 - p)`` (the Fisher weight of a logistic answer: a
  question every model surely solves, or surely fails, says nothing);
* ``doptimal``: greedy Bayesian D-optimal design: pick the question with the largest
  ``log(1 + w_q g_q^T A^-1 g_q)``, then ``A += w_q g_q g_q^T`` (``A`` starts at the prior precision,
  ``w_q`` = the ``information`` weight / T^2): information *and* diversity in the space that matters, since a
  question much like one already picked adds little.  Rank-one updates keep it O(n k) per pick.

Picks are stratified by dataset: each dataset gets its share of ``num`` (largest remainder), and a greedy
strategy fills the quotas together.
"""

from __future__ import annotations

import numpy as np


def quotas(datasets: np.ndarray, num: int) -> dict[str, int]:
    """``num`` split over the datasets in proportion to their candidates (largest remainder; ties by name)."""
    names, counts = np.unique(datasets, return_counts=True)
    num = min(num, int(counts.sum()))
    exact = counts * num / counts.sum()
    base = np.minimum(np.floor(exact).astype(int), counts)
    order = sorted(range(len(names)), key=lambda i: (-(exact[i] - base[i]), names[i]))
    for i in order:
        if base.sum() >= num:
            break
        if base[i] < counts[i]:
            base[i] += 1
    return {str(n): int(b) for n, b in zip(names, base)}


def _top_by_quota(score: np.ndarray, datasets: np.ndarray, quota: dict[str, int],
                  rng: np.random.Generator) -> np.ndarray:
    tie = rng.random(len(score))  # random tie breaks, deterministic for the seed
    picks = []
    for name, k in quota.items():
        idx = np.flatnonzero(datasets == name)
        order = np.lexsort((tie[idx], -score[idx]))
        picks.append(idx[order[:k]])
    return np.concatenate(picks) if picks else np.zeros(0, np.int64)


def greedy_doptimal(g: np.ndarray, w: np.ndarray, datasets: np.ndarray, quota: dict[str, int],
                    prior_precision: float = 1.0) -> np.ndarray:
    """Greedy D-optimal picks (order = pick order) under per-dataset quotas; see the module doc."""
    n, k = g.shape
    ainv = np.eye(k) / prior_precision
    quad = np.einsum("ij,ij->i", g, g) / prior_precision  # g_q^T A^-1 g_q for every candidate
    left = dict(quota)
    open_ = np.array([left.get(str(d), 0) > 0 for d in datasets])
    picks = []
    for _ in range(sum(quota.values())):
        gain = np.where(open_, np.log1p(w * np.maximum(quad, 0.0)), -np.inf)
        q = int(np.argmax(gain))
        picks.append(q)
        v = ainv @ g[q]
        denom = 1.0 + w[q] * float(g[q] @ v)
        proj = g @ v
        quad -= w[q] * proj ** 2 / denom
        ainv -= w[q] * np.outer(v, v) / denom
        open_[q] = False
        name = str(datasets[q])
        left[name] -= 1
        if left[name] == 0:
            open_ &= datasets != name
    return np.asarray(picks, np.int64)


def choose(strategy: str, num: int, p_known: np.ndarray, datasets: np.ndarray, seed: int = 0,
           g: np.ndarray | None = None, temperature: float = 1.0, prior_precision: float = 1.0) -> np.ndarray:
    """Row indices of the ``num`` probe questions among the candidates.

    ``p_known``: (n, M) calibrated P(correct) of the known models; ``datasets``: (n,) stratum of each candidate;
    ``g``: (n, k) information basis (``doptimal`` only)."""
    datasets = np.asarray(datasets).astype(str)
    quota = quotas(datasets, num)
    rng = np.random.default_rng(seed)
    info = (p_known * (1.0 - p_known)).mean(1)
    if strategy == "random":
        return _top_by_quota(np.zeros(len(datasets)), datasets, quota, rng)
    if strategy == "spread":
        return _top_by_quota(p_known.var(1), datasets, quota, rng)
    if strategy == "information":
        return _top_by_quota(info, datasets, quota, rng)
    if strategy == "doptimal":
        if g is None:
            raise ValueError("doptimal needs the information basis g")
        return greedy_doptimal(g, info / temperature ** 2, datasets, quota, prior_precision)
    raise ValueError(f"unknown probe strategy {strategy!r}")
