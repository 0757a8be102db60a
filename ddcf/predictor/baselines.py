"""Reference predictors the correctness predictor must beat, on the same split.

1. ``base_rate``: each model's training accuracy, predicted for all its rows.
2. ``dataset_base_rate``: each model's training accuracy per source dataset.
3. ``knn``: for question q and model m, the mean correctness of m over the k
   training questions most similar to q (cosine) among those m answered;
   ``knn_tuned`` picks k on validation.
4. ``logistic_per_model``: one L2-regularised logistic regression per model on
   the normalised question embeddings, C picked on validation.
(The IRT baseline, which needs torch, is in ``ddcf.predictor.irt``.)

All take integer arrays (model ids, question rows into an embedding matrix of
training questions or of evaluated questions) and are vectorised: no Python
loop over pairs (one per model at most).  The slow ones take ``tick``, called with
the units of work just done (blocks of questions, fits), so the caller can show
progress: on a large matrix they run for minutes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ddcf.artifacts.embeddings import unit_rows
from ddcf.predictor.metrics import log_loss
from ddcf.predictor.neighbours import CHUNK as KNN_CHUNK
from ddcf.predictor.neighbours import K_GRID as KNN_GRID
from ddcf.predictor.neighbours import NeighbourTable

LOGISTIC_C_GRID = (0.1, 0.3, 1.0, 3.0)

Tick = Callable[[int], None]


def _no_tick(n: int) -> None:
    pass


def knn_units(n_val_questions: int, n_eval_questions: int, n_ks: int, chunk: int = KNN_CHUNK) -> int:
    """How many times :func:`knn_tuned` ticks: one per block of questions, per k tried and for the final run."""
    return n_ks * -(-n_val_questions // chunk) + -(-n_eval_questions // chunk)


def _model_rates(train_mid: np.ndarray, train_y: np.ndarray, num_models: int) -> np.ndarray:
    """Per-model training accuracy; a model without training rows gets the global rate."""
    counts = np.bincount(train_mid, minlength=num_models)
    sums = np.bincount(train_mid, weights=train_y.astype(np.float64), minlength=num_models)
    global_rate = float(np.mean(train_y)) if len(train_y) else 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), global_rate)


def base_rate(train_mid, train_y, val_mid, num_models: int) -> np.ndarray:
    train_mid, val_mid = np.asarray(train_mid, np.int64), np.asarray(val_mid, np.int64)
    return _model_rates(train_mid, np.asarray(train_y), num_models)[val_mid]


def dataset_base_rate(
    train_mid, train_ds, train_y, val_mid, val_ds, num_models: int
) -> tuple[np.ndarray, bool]:
    """Per (model, dataset) training accuracy; falls back to the model's rate for unseen pairs.

    Returns ``(predictions, used_datasets)``; with a single dataset in the
    training rows this is exactly :func:`base_rate` and ``used_datasets`` is False.
    """
    train_mid, val_mid = np.asarray(train_mid, np.int64), np.asarray(val_mid, np.int64)
    train_y = np.asarray(train_y, np.float64)
    model_rate = _model_rates(train_mid, train_y, num_models)
    codes, names = pd.factorize(pd.Series(np.concatenate([np.asarray(train_ds), np.asarray(val_ds)]), dtype=str))
    n_ds = max(len(names), 1)
    tr_code, va_code = codes[: len(train_mid)], codes[len(train_mid) :]
    if len(np.unique(tr_code)) <= 1:
        return model_rate[val_mid], False
    key_tr = train_mid * n_ds + tr_code
    key_va = val_mid * n_ds + va_code
    counts = np.bincount(key_tr, minlength=num_models * n_ds)
    sums = np.bincount(key_tr, weights=train_y, minlength=num_models * n_ds)
    seen = counts[key_va] > 0
    pred = model_rate[val_mid].copy()
    pred[seen] = sums[key_va[seen]] / counts[key_va[seen]]
    return pred, True


def knn(
    train_emb: np.ndarray,
    train_q,
    train_mid,
    train_y,
    val_emb: np.ndarray,
    val_q,
    val_mid,
    num_models: int,
    k: int = 20,
    pool: int | None = None,
    chunk: int = KNN_CHUNK,
    tick: Tick | None = None,
) -> np.ndarray:
    """kNN over question embeddings, exact per model within a candidate pool.

    ``train_emb`` rows are the training questions (``train_q`` indexes them per
    pair); ``val_emb`` rows the validation questions.  Embeddings are assumed
    L2-normalised (cosine = dot product; they are normalised again here to be safe).

    For each chunk of validation questions we compute the similarity block once,
    keep the ``pool`` most similar training questions (sorted), and for every
    model take the first ``k`` of them that the model answered (a cumulative
    count along the sorted pool).  When fewer than ``k`` such neighbours exist,
    the missing ones count as the model's base rate, so the estimate shrinks
    smoothly toward it.
    """
    table = NeighbourTable.from_pairs(train_emb, train_q, train_mid, train_y, num_models)
    pred_qm = table.estimate(val_emb, k, pool=pool, chunk=chunk, tick=tick)
    val_q, val_mid = np.asarray(val_q, np.int64), np.asarray(val_mid, np.int64)
    return pred_qm[val_q, val_mid].astype(np.float64)


def _need_val(val_y, who: str) -> None:
    if len(val_y) == 0:
        raise ValueError(f"{who} picks its setting on validation rows, but the validation split is empty")


def knn_tuned(
    train_emb: np.ndarray,
    train_q,
    train_mid,
    train_y,
    val_emb: np.ndarray,
    val_q,
    val_mid,
    val_y,
    eval_emb: np.ndarray,
    eval_q,
    eval_mid,
    num_models: int,
    ks=KNN_GRID,
    pool: int | None = None,
    tick: Tick | None = None,
) -> tuple[np.ndarray, int, dict[int, float]]:
    """:func:`knn` with k picked on validation: the k of ``ks`` with the lowest val log loss (ties: smaller k).

    Returns ``(predictions on eval, chosen k, {k: val log loss})``.  Neighbours
    always come from the training questions, so the eval figures are not fitted.
    """
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"knn_tuned needs k values >= 1, got {ks}")
    _need_val(val_y, "knn_tuned")
    val_loss = {
        k: log_loss(val_y, knn(train_emb, train_q, train_mid, train_y, val_emb, val_q, val_mid, num_models, k=k,
                               pool=pool, tick=tick))
        for k in ks
    }
    best = min(ks, key=lambda k: (val_loss[k], k))
    pred = knn(train_emb, train_q, train_mid, train_y, eval_emb, eval_q, eval_mid, num_models, k=best, pool=pool,
               tick=tick)
    return pred, best, val_loss


def logistic_per_model(
    train_emb: np.ndarray,
    train_q,
    train_mid,
    train_y,
    val_emb: np.ndarray,
    val_q,
    val_mid,
    val_y,
    eval_emb: np.ndarray,
    eval_q,
    eval_mid,
    num_models: int,
    cs=LOGISTIC_C_GRID,
    max_iter: int = 1000,
    tick: Tick | None = None,
) -> tuple[np.ndarray, float]:
    """One scikit-learn ``LogisticRegression`` (lbfgs, L2) per model on the L2-normalised question embeddings.

    One C, shared by all models, is picked from ``cs`` by the log loss over all
    validation rows (ties: smaller C, the stronger regularisation); per-model C
    would over-fit the few validation rows a model has.  A model whose training
    rows are one class only predicts its Laplace-smoothed base rate
    ``(sum + 1) / (n + 2)`` (never exactly 0 or 1); a model without training
    rows predicts the global training rate.  Returns ``(predictions on eval, C)``.
    ``tick`` is called once per (model, C), ``num_models * len(cs)`` times in all.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    cs = sorted({float(c) for c in cs})
    if not cs or cs[0] <= 0:
        raise ValueError(f"logistic_per_model needs C values > 0, got {cs}")
    _need_val(val_y, "logistic_per_model")
    train_q, train_mid = np.asarray(train_q, np.int64), np.asarray(train_mid, np.int64)
    val_q, val_mid = np.asarray(val_q, np.int64), np.asarray(val_mid, np.int64)
    eval_q, eval_mid = np.asarray(eval_q, np.int64), np.asarray(eval_mid, np.int64)
    train_y = np.asarray(train_y, np.float64)
    tr, va, ev = (unit_rows(e, dtype=np.float32, floor=1e-12).astype(np.float64)
                  for e in (train_emb, val_emb, eval_emb))
    # Column j holds the predictions with cs[j]; every row starts at the fallback rate.
    rate = _model_rates(train_mid, train_y, num_models)
    counts = np.bincount(train_mid, minlength=num_models)
    sums = np.bincount(train_mid, weights=train_y, minlength=num_models)
    fallback = np.where(counts > 0, (sums + 1) / (counts + 2), rate)
    p_val = np.repeat(fallback[val_mid][:, None], len(cs), axis=1)
    p_eval = np.repeat(fallback[eval_mid][:, None], len(cs), axis=1)
    # One BLAS thread: these ~10^3 x 384 fits only lose time to threading (30x on a busy 2-core machine).
    with threadpool_limits(limits=1):
        for m in range(num_models):
            rows = np.flatnonzero(train_mid == m)
            if len(rows) == 0 or sums[m] == 0 or sums[m] == counts[m]:
                (tick or _no_tick)(len(cs))
                continue  # nothing to separate: keep the fallback rate
            x, y = tr[train_q[rows]], train_y[rows]
            v_rows, e_rows = np.flatnonzero(val_mid == m), np.flatnonzero(eval_mid == m)
            for j, c in enumerate(cs):
                clf = LogisticRegression(C=c, solver="lbfgs", max_iter=max_iter).fit(x, y)
                if len(v_rows):
                    p_val[v_rows, j] = clf.predict_proba(va[val_q[v_rows]])[:, 1]
                if len(e_rows):
                    p_eval[e_rows, j] = clf.predict_proba(ev[eval_q[e_rows]])[:, 1]
                (tick or _no_tick)(1)
    losses = [log_loss(val_y, p_val[:, j]) for j in range(len(cs))]
    best = min(range(len(cs)), key=lambda j: (losses[j], cs[j]))
    return p_eval[:, best].astype(np.float64), cs[best]
