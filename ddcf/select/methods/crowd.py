"""``--method crowd``: CrowdSelect (Li et al., 2025, "CrowdSelect: Synthetic Instruction Data Selection with
Multi-LLM Wisdom"), chosen per k-means cluster of the embeddings.

The released code (listentm/CROWDSELECT) scores every instruction with a reward model's score of each of 19 models'
responses.  ddcf feeds the predictor's P(correct) of *every* model it knows instead (nothing is answered or
annotated); given that score matrix (models x questions), the metrics and their combination are as released:

* difficulty   = - mean over models of the score (``choose_single/difficulty``);
* separability = variance over models of the score (population variance, ``choose_single/separability``);
* stability    = mean over model *families* of the Spearman correlation, inside the family, between the models'
                 ranks by score on the question (1 = best; equal scores: the larger model first) and their ranks by
                 size (1 = largest) (``choose_single/stability``): a question on which bigger models of a family do
                 better.  Families and sizes come from the model names (``org/Name-7B-Base`` is family
                 ``org/name-*-base``, 7B; see :func:`family_of`) or ``--crowd_families FILE``; families with one sized
                 model are left out.  ``--crowd_stability accuracy`` instead correlates, across all models, the score
                 with the models' overall accuracy (model_order.csv ``accuracy``, else their mean score);
* each metric goes through StandardScaler, MinMaxScaler and QuantileTransformer (uniform, min(n, 1000) quantiles)
  over the whole pool, and the combined score is their ``--crowd_weights`` sum (released 1, 1, 1.5);
* the embeddings are split into ``--clusters`` k-means clusters (scikit-learn, 20 inits, ``--seed``); each cluster
  gives its best combined scores: k / clusters each (``--crowd_quota equal``, as released; a cluster too small
  passes its share on) or shares proportional to the cluster sizes.  Picks are listed best combined score first.

Inputs: the predictor, the corpus embeddings (and model_order.csv for ``accuracy``).  Corpus annotations: none.
The table's ``cost`` is the combined score.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.artifacts.matrix import read_model_order_table
from ddcf.errors import DDCFError
from ddcf.select.methods.band import parse_weights
from ddcf.select.methods.common import Context, Picks, Timer, ranked
from ddcf.select.methods.predicted import predicted_matrix

METRICS = ("difficulty", "separability", "stability")
SIZE = re.compile(r"(?<![0-9.])(\d+(?:\.\d+)?)[bB](?![a-zA-Z0-9])")


def family_of(model: str) -> tuple[str, float] | None:
    """(family, size in billions) from a model name: the size token ``<number>B`` replaced by ``*``, lower case
    (``google/gemma-2-9b`` -> ``google/gemma-2-*``, 9.0); None without a size token."""
    found = list(SIZE.finditer(model))
    if len(found) != 1:
        return None
    m = found[0]
    return (model[:m.start()] + "*" + model[m.end():]).lower(), float(m.group(1))


def families(models: list[str], table: str | None) -> dict[str, list[tuple[int, float]]]:
    """Family -> [(model row, size)], smallest first (the released lists' order); families of >= 2 models only."""
    if table:
        fix = "pass --crowd_families a .csv with the columns model, family, size (size: a number, e.g. 7 for 7B)."
        path = Path(table)
        if not path.is_file():
            raise DDCFError(f"The family table --crowd_families {path} does not exist.", fix)
        df = pd.read_csv(path)
        if not {"model", "family", "size"} <= set(df.columns):
            raise DDCFError(f"The family table {path} has the columns {list(df.columns)}.", fix)
        size = pd.to_numeric(df["size"], errors="coerce")
        if size.isna().any():
            raise DDCFError(f"The family table {path} has a size that is not a number.", fix)
        known = {str(m): (str(f), float(s)) for m, f, s in zip(df["model"], df["family"], size)}
        of = {m: known.get(m) for m in models}
    else:
        of = {m: family_of(m) for m in models}
    out: dict[str, list[tuple[int, float]]] = {}
    for i, m in enumerate(models):
        if of[m] is not None:
            out.setdefault(of[m][0], []).append((i, of[m][1]))
    return {f: sorted(v, key=lambda r: (r[1], r[0])) for f, v in sorted(out.items()) if len(v) >= 2}


def _ranks_desc(values: np.ndarray) -> np.ndarray:
    """Rank 1 = largest along axis 0; equal values: the later row ranks first (a reversed ascending sort)."""
    desc = np.argsort(values, axis=0, kind="stable")[::-1]
    return np.argsort(desc, axis=0, kind="stable") + 1.0


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of ``a`` (m x n) with ``b`` (m); of ranks, this is Spearman's rho."""
    a = a - a.mean(axis=0)
    b = b - b.mean()
    den = np.sqrt((a * a).sum(axis=0) * float(b @ b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (b @ a) / np.where(den > 0, den, 1.0), 0.0)


def family_stability(p: np.ndarray, fams: dict[str, list[tuple[int, float]]]) -> np.ndarray:
    """Mean over families of Spearman(rank by score on the question, rank by size), per question (column).

    A family's ranks are a permutation, so rho is computed once per distinct permutation with scipy's spearmanr
    (bit for bit the released values: the quantile step that follows is sensitive to the last bit of ties)."""
    from scipy.stats import rankdata, spearmanr

    rhos = []
    for members in fams.values():
        rows = [r for r, _ in members]
        base = rankdata([-s for _, s in members])  # 1 = largest
        ranks = _ranks_desc(p[rows]).T
        perms, inverse = np.unique(ranks, axis=0, return_inverse=True)
        rho = np.array([spearmanr(r, base)[0] for r in perms])
        rhos.append(rho[inverse.ravel()])
    return np.mean(np.stack(rhos), axis=0)


def spearman_rows(p: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Spearman correlation of every column of ``p`` (models x questions) with ``ref`` (models); 0 when constant."""
    from scipy.stats import rankdata

    return _pearson_rows(rankdata(p, axis=0), rankdata(ref))


def metrics(p: np.ndarray, stability: np.ndarray) -> dict[str, np.ndarray]:
    # per question, in the released summation order: models one after the other, np.var of each question's row
    return {"difficulty": -(p.sum(axis=0) / len(p)), "separability": np.ascontiguousarray(p.T).var(axis=1),
            "stability": stability}


def balanced(v: np.ndarray) -> np.ndarray:
    """StandardScaler, MinMaxScaler, QuantileTransformer(uniform) over the pool, as released (every row is used:
    scikit-learn would subsample 10,000 rows at random above that)."""
    from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, StandardScaler

    col = np.asarray(v, dtype=np.float64).reshape(-1, 1)
    col = MinMaxScaler().fit_transform(StandardScaler().fit_transform(col))
    qt = QuantileTransformer(output_distribution="uniform", n_quantiles=min(len(col), 1000),
                             subsample=max(len(col), 10_000))
    return qt.fit_transform(col).ravel()


def combine(m: dict[str, np.ndarray], weights: list[float]) -> np.ndarray:
    return np.dot(np.array([balanced(m[name]) for name in METRICS]).T, weights)  # the released product


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


def equal_quotas(sizes: np.ndarray, k: int) -> np.ndarray:
    """k / clusters picks per cluster (the remainder to the lower cluster ids); a cluster smaller than its share
    gives all it has and the rest is shared the same way among the others."""
    sizes = np.asarray(sizes, dtype=np.int64)
    q = np.zeros_like(sizes)
    while q.sum() < k:
        open_ = np.flatnonzero(q < sizes)
        left = k - q.sum()
        add = np.full(len(open_), left // len(open_))
        add[: left % len(open_)] += 1
        q[open_] = np.minimum(q[open_] + add, sizes[open_])
    return q


def model_accuracy(ctx: Context, models: list[str], p: np.ndarray) -> tuple[np.ndarray, list[str]]:
    path = ctx.layout.model_order
    if path.is_file():
        order = read_model_order_table(ctx.layout)
        if "accuracy" in order.columns:
            acc = dict(zip(order["model"].astype(str), pd.to_numeric(order["accuracy"], errors="coerce")))
            if all(np.isfinite(acc.get(m, np.nan)) for m in models):
                return np.array([acc[m] for m in models], dtype=np.float64), []
    return p.mean(axis=1), [f"{path} has no accuracy for every model: stability ranks models by their mean "
                            "predicted correctness over the pool instead."]


def kmeans_labels(x, clusters: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=clusters, n_init=20, random_state=seed).fit_predict(np.asarray(x, dtype=np.float32))


def stability_of(ctx: Context, p: np.ndarray, models: list[str]) -> tuple[np.ndarray, dict, list[str]]:
    cfg = ctx.config
    if cfg.crowd_stability == "accuracy":
        acc, warn = model_accuracy(ctx, models, p)
        return spearman_rows(p, acc), {}, warn
    fams = families(models, cfg.crowd_families)
    if not fams:
        raise DDCFError(
            f"No model family has two models of known size among the predictor's {len(models)} models "
            f"(e.g. {models[:3]}), so CrowdSelect's stability cannot be computed.",
            "pass --crowd_families FILE (.csv: model, family, size) or --crowd_stability accuracy.")
    named = {f: [models[r] for r, _ in v] for f, v in fams.items()}
    return family_stability(p, fams), named, []


def select(ctx: Context) -> Picks:
    cfg = ctx.config
    weights = parse_weights(cfg.crowd_weights, "--crowd_weights", 3)
    with Timer() as t:
        p, models, warnings = predicted_matrix(ctx)
        stab, fams, more = stability_of(ctx, p, models)
        combined = combine(metrics(p, stab), weights)
        clusters = min(cfg.clusters, ctx.k, len(ctx.pool.ids))
        labels = kmeans_labels(ctx.pool.x, clusters, ctx.seed)
        sizes = np.bincount(labels, minlength=clusters)
        quota = equal_quotas(sizes, ctx.k) if cfg.crowd_quota == "equal" else quotas(sizes, ctx.k)
        chosen = []
        for c in range(clusters):
            members = np.flatnonzero(labels == c)
            chosen.append(members[ranked(combined[members], int(quota[c]), descending=True)])
        rows = np.concatenate(chosen)
        rows = rows[ranked(combined[rows], len(rows), descending=True)]  # pick order: best combined score first
    engine = f"crowd ({len(models)} models, {len(fams) or 'no'} families, {clusters} k-means clusters)"
    return Picks(indices=rows, score=combined[rows], engine=engine,
                 seconds=t.seconds, warnings=warnings + more,
                 stats={"models": len(models), "clusters": clusters, "weights": weights, "families": fams,
                        "clusters_covered": int(len(np.unique(labels[rows])))})
