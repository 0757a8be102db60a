"""Reference predictors the correctness predictor must beat, on the same split.

1. ``base_rate``: each model's training accuracy, predicted for all its rows.
2. ``dataset_base_rate``: each model's training accuracy per source dataset.
3. ``knn``: for question q and model m, the mean correctness of m over the k
   training questions most similar to q (cosine) among those m answered.

All take integer arrays (model ids, question rows) and are vectorised: no
Python loop over pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
    chunk: int = 512,
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
    train_q, train_mid = np.asarray(train_q, np.int64), np.asarray(train_mid, np.int64)
    val_q, val_mid = np.asarray(val_q, np.int64), np.asarray(val_mid, np.int64)
    train_y = np.asarray(train_y, np.float64)
    n_train_q = train_emb.shape[0]
    rate_model = _model_rates(train_mid, train_y, num_models)
    # Per (training question, model): mean correctness and whether answered.
    n_ans = np.zeros((n_train_q, num_models), np.float32)
    n_cor = np.zeros((n_train_q, num_models), np.float32)
    np.add.at(n_ans, (train_q, train_mid), 1.0)
    np.add.at(n_cor, (train_q, train_mid), train_y)
    answered = n_ans > 0
    rate_qm = np.where(answered, n_cor / np.maximum(n_ans, 1), 0.0).astype(np.float32)

    def unit(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    tr = unit(train_emb)
    va = unit(val_emb)
    pool = min(n_train_q, pool or max(5 * k, k + 50))
    pred_qm = np.empty((va.shape[0], num_models), np.float32)
    for start in range(0, va.shape[0], chunk):
        sim = va[start : start + chunk] @ tr.T  # (c, n_train_q)
        if pool < n_train_q:
            top = np.argpartition(-sim, pool - 1, axis=1)[:, :pool]
        else:
            top = np.broadcast_to(np.arange(n_train_q), sim.shape).copy()
        order = np.argsort(-np.take_along_axis(sim, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)  # (c, pool), most similar first
        ans = answered[top]  # (c, pool, M)
        keep = ans & (np.cumsum(ans, axis=1) <= k)
        cnt = keep.sum(axis=1)  # (c, M)
        total = np.where(keep, rate_qm[top], 0.0).sum(axis=1)
        pred_qm[start : start + chunk] = (total + (k - cnt) * rate_model[None, :]) / k
    return pred_qm[val_q, val_mid].astype(np.float64)
