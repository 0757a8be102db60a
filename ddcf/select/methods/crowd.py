"""``--method crowd``: CrowdSelect-style multi-model metrics, chosen per k-means cluster of the embeddings.

After CrowdSelect (Li et al., 2025, "CrowdSelect: Synthetic Instruction Data Selection with Multi-LLM Wisdom"),
with the predictor's correctness of *every* model it knows in place of many models' answers:

* difficulty    = 1 - mean over models of P(correct);
* separability  = standard deviation of P(correct) across models (the question tells models apart);
* stability     = Spearman correlation, across models, between P(correct) on the question and the models' overall
                  accuracy (``accuracy`` of DDCF_data/model_order.csv, else their mean predicted correctness over
                  the pool, with a warning): a question that ranks models as they rank overall.

Each metric is min-max normalised over the pool and combined with ``--crowd_weights`` (difficulty, separability,
stability).  The pool's L2-normalised embeddings are split into ``--clusters`` k-means clusters (scikit-learn,
``--seed``); each cluster gets a quota proportional to its size, at least one pick when k >= clusters (so every
cluster is represented), and takes its best combined scores.  Inputs: the predictor, the corpus embeddings,
model_order.csv.  Corpus annotations: none (predicted, not answered).  The table's ``cost`` is the combined score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ddcf.select.methods.band import parse_weights
from ddcf.select.methods.common import Context, Picks, Timer, ranked, unit_rows
from ddcf.select.methods.predicted import predicted_matrix


def minmax(v: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(v)), float(np.max(v))
    return np.zeros_like(v) if hi <= lo else (v - lo) / (hi - lo)


def spearman_rows(p: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Spearman correlation of every column of ``p`` (models x questions) with ``ref`` (models); 0 when constant."""
    from scipy.stats import rankdata

    rp = rankdata(p, axis=0)
    rr = rankdata(ref)
    rp = rp - rp.mean(axis=0)
    rr = rr - rr.mean()
    den = np.sqrt((rp * rp).sum(axis=0) * float(rr @ rr))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rr @ rp) / den
    return np.where(den > 0, rho, 0.0)


def metrics(p: np.ndarray, accuracy: np.ndarray) -> dict[str, np.ndarray]:
    return {"difficulty": 1.0 - p.mean(axis=0), "separability": p.std(axis=0), "stability": spearman_rows(p, accuracy)}


def quotas(sizes: np.ndarray, k: int) -> np.ndarray:
    """Picks per cluster: proportional to size (largest remainder), >= 1 each when k >= clusters, <= its size."""
    sizes = np.asarray(sizes, dtype=np.int64)
    q = np.minimum(sizes, 1) if k >= len(sizes) else np.zeros_like(sizes)
    while q.sum() < k:
        room = sizes - q
        share = (k - q.sum()) * room / max(room.sum(), 1)
        add = np.minimum(np.floor(share).astype(np.int64), room)
        if add.sum() == 0:  # hand out the remainder one by one, biggest share first (stable: lower cluster id)
            order = np.argsort(-share, kind="stable")
            add = np.zeros_like(q)
            add[order[: k - q.sum()]] = 1
            add = np.minimum(add, room)
        q += add
    return q


def model_accuracy(ctx: Context, models: list[str], p: np.ndarray) -> tuple[np.ndarray, list[str]]:
    path = ctx.layout.model_order
    if path.is_file():
        order = pd.read_csv(path)
        if "accuracy" in order.columns:
            acc = dict(zip(order["model"].astype(str), pd.to_numeric(order["accuracy"], errors="coerce")))
            if all(np.isfinite(acc.get(m, np.nan)) for m in models):
                return np.array([acc[m] for m in models], dtype=np.float64), []
    return p.mean(axis=1), [f"{path} has no accuracy for every model: stability ranks models by their mean "
                            "predicted correctness over the pool instead."]


def kmeans_labels(x, clusters: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=clusters, n_init=3, random_state=seed).fit_predict(unit_rows(x, dtype=np.float32))


def select(ctx: Context) -> Picks:
    weights = parse_weights(ctx.config.crowd_weights, "--crowd_weights", 3)
    with Timer() as t:
        p, models, warnings = predicted_matrix(ctx)
        acc, more = model_accuracy(ctx, models, p)
        m = metrics(p, acc)
        combined = sum(w * minmax(m[name]) for w, name in zip(weights, ("difficulty", "separability", "stability")))
        clusters = min(ctx.config.clusters, ctx.k, len(ctx.pool.ids))
        labels = kmeans_labels(ctx.pool.x, clusters, ctx.seed)
        quota = quotas(np.bincount(labels, minlength=clusters), ctx.k)
        chosen = []
        for c in range(clusters):
            members = np.flatnonzero(labels == c)
            chosen.append(members[ranked(combined[members], int(quota[c]), descending=True)])
        rows = np.concatenate(chosen)
        rows = rows[ranked(combined[rows], len(rows), descending=True)]  # pick order: best combined score first
    engine = f"crowd ({len(models)} models, {clusters} k-means clusters)"
    return Picks(indices=rows, score=combined[rows], engine=engine,
                 seconds=t.seconds, warnings=warnings + more,
                 stats={"models": len(models), "clusters": clusters, "weights": weights,
                        "clusters_covered": int(len(np.unique(labels[rows])))})
