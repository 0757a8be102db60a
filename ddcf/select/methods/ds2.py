"""``--method ds2``: DS2-style selection on a ratings column, after curating the rater's errors.

After DS2 (Pang et al., 2025, "Improving Data Efficiency via Curating LLM-Driven Rating Systems", ICLR): a
rater's discrete scores are noisy; their *score transition matrix* ``T[i, j] = P(rated j | true score i)`` is
estimated from k-NN label consensus in embedding space (neighbours share a true score: clusterability), the scores
are curated with it, and the selection ranks by curated score, breaking ties by a long-tail diversity score.

1. ratings: ``--ratings FILE`` (question_id, rating: any discrete scores, e.g. an LLM rater's 0..5; higher =
   better) joined by id, or, without it, the mean predicted correctness of ``--ds2_models`` (default the target)
   binned into ``--ds2_bins`` scores of *difficulty* (bin of 1 - mean P(correct): higher = harder);
2. for every question, the ``--neighbours`` nearest other questions (cosine of the embeddings); consensus score =
   their majority rating (ties to the lower score);
3. ``T_hat[i, :]`` = the distribution of the ratings of the questions whose consensus is ``i``;
4. curated score = argmax_i ``prior_i * T_hat[i, r] * prod_neighbours T_hat[i, r_n]`` (the question's own
   rating ``r`` and its neighbours' as noisy looks at one true score; prior = the share of consensus ``i``);
5. long-tail score = mean cosine distance to the ``--neighbours`` nearest questions (rare questions score high);
   rank by curated score, then long-tail score, descending.

Inputs: the ratings table (or the predictor) and the corpus embeddings.  Corpus annotations: a rater's score per
corpus question (none with --ds2_models).  The table's ``cost`` column is the curated score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ddcf.errors import DDCFError
from ddcf.select.methods.common import Context, Picks, Timer, unit_rows


def knn(x, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine similarities of the k nearest *other* rows (exact, blockwise)."""
    u = unit_rows(x, dtype=np.float32)
    n = len(u)
    k = min(k, n - 1)
    idx, sim = np.empty((n, k), dtype=np.int64), np.empty((n, k))
    for s in range(0, n, 2048):
        g = u[s:s + 2048] @ u.T
        g[np.arange(len(g)), np.arange(s, s + len(g))] = -np.inf  # not its own neighbour
        part = np.argpartition(-g, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(g, part, 1), axis=1, kind="stable")
        idx[s:s + len(g)] = np.take_along_axis(part, order, 1)
        sim[s:s + len(g)] = np.take_along_axis(g, idx[s:s + len(g)], 1)
    return idx, sim


def consensus(labels: np.ndarray, neighbours: np.ndarray, classes: int) -> np.ndarray:
    votes = np.zeros((len(labels), classes))
    np.add.at(votes, (np.repeat(np.arange(len(labels)), neighbours.shape[1]), labels[neighbours].ravel()), 1.0)
    return np.argmax(votes, axis=1)  # first maximum: ties to the lower score


def transition_matrix(labels: np.ndarray, cons: np.ndarray, classes: int) -> np.ndarray:
    t = np.zeros((classes, classes))
    np.add.at(t, (cons, labels), 1.0)
    rows = t.sum(axis=1, keepdims=True)
    return np.where(rows > 0, t / np.where(rows > 0, rows, 1.0), np.eye(classes))


def curate(labels: np.ndarray, neighbours: np.ndarray, t: np.ndarray, prior: np.ndarray) -> np.ndarray:
    logt = np.log(np.clip(t, 1e-12, None))  # (true, rated)
    looks = np.concatenate([labels[:, None], labels[neighbours]], axis=1)  # own rating + the neighbours'
    post = np.log(np.clip(prior, 1e-12, None))[None, :] + logt.T[looks].sum(axis=1)
    return np.argmax(post, axis=1)


def ratings_of(ctx: Context) -> tuple[np.ndarray, np.ndarray, list, list[str]]:
    """(rated pool rows, class index per rated row, the class values, warnings)."""
    cfg = ctx.config
    if cfg.ratings:
        import pandas as pd

        from ddcf.io import read_table

        path = Path(cfg.ratings)
        fix = "pass --ratings a .parquet/.csv table with the columns question_id, rating (one row per question)."
        if not path.is_file():
            raise DDCFError(f"The ratings table --ratings {path} does not exist.", fix)
        df = read_table(path, "ratings", ["question_id", "rating"], fix)
        df = df.assign(question_id=df["question_id"].astype(str)).dropna(subset=["rating"])
        dup = df["question_id"][df["question_id"].duplicated()]
        if len(dup):
            raise DDCFError(f"The ratings table {path} rates {dup.iloc[0]!r} twice.", fix)
        rated = pd.to_numeric(df["rating"], errors="coerce")
        if rated.isna().any():
            raise DDCFError(f"The ratings table {path} has a rating that is not a number "
                            f"({df['rating'][rated.isna()].iloc[0]!r}).", fix)
        df = df.assign(rating=rated)
        rating = dict(zip(df["question_id"], df["rating"]))
        rows = np.array([i for i, q in enumerate(ctx.pool.ids) if q in rating], dtype=np.int64)
        if len(rows) == 0:
            raise DDCFError(f"No candidate question has a rating in {path} (e.g. pool ids {ctx.pool.ids[:3]}).", fix)
        values = np.array([rating[ctx.pool.ids[r]] for r in rows])
        classes, labels = np.unique(values, return_inverse=True)
        warn = [] if len(rows) == len(ctx.pool.ids) else [
            f"{len(ctx.pool.ids) - len(rows):,} candidate questions have no rating in {path} and are not candidates."]
        return rows, labels.astype(np.int64), classes.tolist(), warn
    from ddcf.select.methods.predicted import predicted_matrix

    p, models, warn = predicted_matrix(ctx, cfg.ds2_models or [ctx.model])
    bins = cfg.ds2_bins
    labels = np.minimum((bins * (1.0 - p.mean(axis=0))).astype(np.int64), bins - 1)
    return np.arange(len(ctx.pool.ids)), labels, list(range(bins)), warn


def select(ctx: Context) -> Picks:
    with Timer() as t:
        rows, labels, classes, warnings = ratings_of(ctx)
        if len(rows) < ctx.k:
            raise DDCFError(f"--num_select {ctx.k:,} is larger than the {len(rows):,} rated candidate questions.",
                            "rate more questions or lower --num_select.")
        if len(rows) < 2:
            raise DDCFError("ds2 needs at least two rated questions (it compares neighbours).", "rate more questions.")
        nb, sim = knn(np.asarray(ctx.pool.x[rows]), ctx.config.neighbours)
        c = len(classes)
        cons = consensus(labels, nb, c)
        tm = transition_matrix(labels, cons, c)
        prior = np.bincount(cons, minlength=c) / len(cons)
        curated = curate(labels, nb, tm, prior)
        long_tail = 1.0 - sim.mean(axis=1)
        order = np.lexsort((-long_tail, -curated))[: ctx.k]  # last key first: curated, then long-tail
    return Picks(indices=rows[order], score=np.asarray(classes, dtype=np.float64)[curated[order]],
                 engine=f"ds2 (k-NN consensus, {nb.shape[1]} neighbours)", seconds=t.seconds, warnings=warnings,
                 stats={"score_values": classes, "transition_matrix": tm.round(6).tolist(),
                        "curated_changed": int((curated != labels).sum()), "rated": int(len(rows))})
