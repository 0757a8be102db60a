"""How much of a selection is decided by the target model, and how much by the predictor's training seed.

Two retrainings of the predictor that differ only in their seed give slightly different predicted
correctness, and k-greedy turns small differences among the hardest questions into different picks
(issue 23).  This module measures that and estimates it cheaply:

* :func:`overlap` / :func:`pairwise_overlaps`: shared picks / k and Jaccard of selections (measured);
* :func:`pick_frequency`: in how many of several selections each question was picked (``ddcf report``);
* :func:`expected_overlap`: the *estimate* written into every selection's report.json, from the standard
  error of each question's predicted correctness (the spread of the ensemble members, ``se = sd / sqrt(N)``,
  written by the difficulty stage as ``predicted_correctness_se``).  Definition: if every question's
  predicted correctness were redrawn as ``p + se * z`` (independent Gaussian z, one draw per retraining),
  ``pi_q`` is the probability that q is among the k lowest; two independent retrainings then share
  ``sum_q pi_q^2`` of their k lowest questions on average.  k-greedy's cost is ``lamda p + (1 - lamda) R``
  (R: redundancy), so the estimate is exact for lamda = 1 (the k lowest p) under that noise model, while at
  lamda = 0 the picks do not depend on p at all (overlap 1); in between it is a proxy, and the benchmark
  ``benchmarks/bench_selection_stability.py`` prints it beside the measured overlap.

Nothing here trains or selects; it is cheap (one sort and a 1-D root search over the pool).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np


def overlap(a, b) -> dict:
    """Shared picks of two selections: ``shared`` (count), ``shared_frac`` (shared / k, k = the larger size)
    and ``jaccard`` (shared / size of the union)."""
    a, b = set(a), set(b)
    shared = len(a & b)
    union = len(a | b)
    k = max(len(a), len(b))
    return dict(shared=shared, shared_frac=shared / k if k else float("nan"),
                jaccard=shared / union if union else float("nan"))


def pairwise_overlaps(selections: list) -> dict:
    """Mean, min and max of :func:`overlap`'s ``shared_frac`` and ``jaccard`` over every pair of selections."""
    pairs = [overlap(a, b) for a, b in itertools.combinations(selections, 2)]
    if not pairs:
        return dict(pairs=0)
    out = dict(pairs=len(pairs))
    for key in ("shared_frac", "jaccard"):
        v = np.array([p[key] for p in pairs], np.float64)
        out.update({f"{key}_mean": float(v.mean()), f"{key}_min": float(v.min()), f"{key}_max": float(v.max())})
    return out


def pick_frequency(selections: list) -> Counter:
    """question id -> in how many of ``selections`` it was picked."""
    return Counter(q for sel in selections for q in set(sel))


def _phi(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


def inclusion_probabilities(p, se, k: int) -> np.ndarray:
    """``pi_q`` = P(q is among the k lowest of ``p + se * z``), approximated by ``Phi((t - p_q) / se_q)`` with the
    threshold t chosen so that the probabilities sum to k (questions with se = 0 are in iff p_q < t)."""
    p = np.asarray(p, np.float64)
    se = np.asarray(se, np.float64)
    n = len(p)
    if not 0 < k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    if k == n:
        return np.ones(n)
    safe = np.where(se > 0, se, 1.0)

    def probs(t: float) -> np.ndarray:
        return np.where(se > 0, _phi((t - p) / safe), (p < t).astype(np.float64))

    lo, hi = float(np.min(p - 10 * se)) - 1.0, float(np.max(p + 10 * se)) + 1.0
    for _ in range(100):  # bisection on a monotone sum: robust and exact enough (1e-30 of the range)
        mid = 0.5 * (lo + hi)
        if probs(mid).sum() < k:
            lo = mid
        else:
            hi = mid
    return probs(hi)


def expected_overlap(p, se, k: int) -> float:
    """Expected shared fraction of the k lowest-p questions between two independent retrainings (see module)."""
    pi = inclusion_probabilities(p, se, k)
    return float(np.sum(pi * pi) / k)


def selection_stability(p, se, rows, k: int | None = None, z: float = 1.96) -> dict:
    """The stability block of a selection's report.json.

    ``expected_overlap``: :func:`expected_overlap` over the pool at the selection's k; ``picks_clear``: the
    fraction of picks whose interval ``p +- z * se`` lies wholly below the threshold t of
    :func:`inclusion_probabilities` (they would be among the k hardest in almost any retraining);
    ``mean_se_picks``: the picks' mean standard error."""
    p = np.asarray(p, np.float64)
    se = np.asarray(se, np.float64)
    rows = np.asarray(rows, np.int64)
    k = len(rows) if k is None else k
    pi = inclusion_probabilities(p, se, k)
    # the threshold t with sum(pi) = k, recovered from a question with 0 < pi < 1 if any (else the k-th smallest p)
    order = np.sort(p)
    t = float(order[k - 1]) if k < len(p) else math.inf
    mid = np.flatnonzero((pi > 1e-9) & (pi < 1 - 1e-9) & (se > 0))
    if len(mid):
        from scipy.special import ndtri

        i = mid[0]
        t = float(p[i] + se[i] * ndtri(pi[i]))
    clear = p[rows] + z * se[rows] < t
    return dict(
        expected_overlap=round(float(np.sum(pi * pi) / k), 4),
        picks_clear=round(float(clear.mean()), 4) if len(rows) else None,
        mean_se_picks=round(float(se[rows].mean()), 5) if len(rows) else None,
        threshold=round(t, 5) if math.isfinite(t) else None,
        definition=f"expected_overlap: expected shared fraction of the k lowest predicted correctness between two "
                   "retrainings of the predictor (noise = the ensemble members' standard error; exact at lamda 1, "
                   f"a proxy below); picks_clear: picks with p + {z:g} se below the threshold t of the k lowest",
    )


def retraining_draw(p, se, seed: int = 0) -> np.ndarray:
    """A plausible predicted correctness of *another* retraining, given this one: ``p + sqrt(2) se z``.

    Two retrainings are ``mu + e_A`` and ``mu + e_B`` with independent errors of sd ``se``, so given ``p = mu + e_A``
    the other is ``p + (e_B - e_A)``, whose noise has sd ``sqrt(2) se``.  Rounded to float32 as the difficulty
    table stores it, clipped to [0, 1]; a fixed seed makes the estimate repeatable."""
    z = np.random.default_rng(seed).standard_normal(len(p))
    q = np.clip(np.asarray(p, np.float64) + math.sqrt(2.0) * np.asarray(se, np.float64) * z, 0.0, 1.0)
    return q.astype(np.float32).astype(np.float64)


def pool_stability(pool, rows, reselect=None, lamda: float | None = None) -> dict | None:
    """:func:`selection_stability` of a selection from a :class:`ddcf.select.pools.Pool`, when its difficulty table
    has the members' standard errors (factor ensembles since issue 23); None otherwise (seed pools, the
    paper's predictor, older tables): no estimate is better than a made-up one.

    ``reselect(p) -> rows`` (k-greedy with the selection's own settings): when given and 0 < lamda < 1, the
    block also holds ``reselect_overlap``, the shared fraction between the selection and a selection on one
    :func:`retraining_draw` -- the direct estimate for k-greedy, whose picks at lamda < 1 react to noise far
    below the members' spread (issue 23's notes: noise of sd 1e-3 already changes half of 1,000 picks).  It
    costs one more k-greedy run."""
    se = getattr(pool, "se", None)
    if se is None or pool.meta.get("pool_kind", "corpus") != "corpus" or not np.all(np.isfinite(se)):
        return None
    out = selection_stability(pool.predicted_correctness, se, rows)
    if lamda == 0.0:  # k-greedy at lamda 0 never reads p: every retraining picks the same questions
        out["reselect_overlap"] = 1.0
    elif reselect is not None and lamda is not None and 0.0 < lamda < 1.0:
        other = np.asarray(reselect(retraining_draw(pool.predicted_correctness, se)), np.int64)
        out["reselect_overlap"] = round(overlap(rows, other)["shared_frac"], 4)
        out["definition"] += ("; reselect_overlap: shared fraction of the picks with k-greedy on p + sqrt(2) se z "
                              "(one seeded draw: another retraining as the members' spread predicts it)")
    return out
