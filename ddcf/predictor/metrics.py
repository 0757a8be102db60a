"""Evaluation metrics for P(correct) predictions, in plain numpy (fast on ~10^5 rows).

All functions take ``y`` (0/1 labels) and ``p`` (predicted P(correct)).
Undefined values (an AUC with one class only) are NaN, never a guess.
"""

from __future__ import annotations

import math

import numpy as np

ECE_BINS = 15
LOGLOSS_EPS = 1e-7  # probabilities are clipped to [eps, 1-eps] so a 0/1 base rate gives a finite loss
METRIC_NAMES = ("accuracy", "auc", "log_loss", "ece", "mean_model_auc")


def _as_arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and predictions {p.shape} differ in length")
    return y, p


def accuracy(y, p, threshold: float = 0.5) -> float:
    y, p = _as_arrays(y, p)
    return float(np.mean((p >= threshold) == (y > 0.5))) if len(y) else math.nan


def roc_auc(y, p) -> float:
    """ROC-AUC via the rank-sum (Mann-Whitney) statistic, ties getting their average rank."""
    y, p = _as_arrays(y, p)
    pos = y > 0.5
    n_pos = int(pos.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(p, kind="mergesort")
    sorted_p = p[order]
    ranks = np.empty(len(p), dtype=np.float64)
    # Average ranks over runs of equal scores (1-based ranks).
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_p)) + 1]
    ends = np.r_[starts[1:], len(p)]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def log_loss(y, p, eps: float = LOGLOSS_EPS) -> float:
    y, p = _as_arrays(y, p)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))) if len(y) else math.nan


def expected_calibration_error(y, p, n_bins: int = ECE_BINS) -> float:
    """ECE of P(correct): ``sum_b n_b/N * |mean(y_b) - mean(p_b)|`` over equal-width bins of [0, 1].

    Bin b holds ``b/n <= p < (b+1)/n``; the last bin also holds p == 1.
    (This is the reliability of the predicted probability of the positive class,
    which is what a difficulty score uses, not the max-class "confidence" ECE.)
    """
    y, p = _as_arrays(y, p)
    if not len(y):
        return math.nan
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    return float(np.abs(sum_y - sum_p).sum() / len(y))


def per_model_auc(y, p, model_ids) -> dict[int, float]:
    """AUC within each model's rows (NaN where that model's rows have one class only)."""
    y, p = _as_arrays(y, p)
    model_ids = np.asarray(model_ids).ravel()
    order = np.argsort(model_ids, kind="stable")
    ids_sorted = model_ids[order]
    cuts = np.flatnonzero(np.diff(ids_sorted)) + 1
    out: dict[int, float] = {}
    # One slice per model (tens of models), not a loop over pairs.
    for chunk in np.split(order, cuts):
        if len(chunk):
            out[int(model_ids[chunk[0]])] = roc_auc(y[chunk], p[chunk])
    return out


def mean_model_auc(y, p, model_ids) -> float:
    """Mean of per-model AUCs over the models whose rows contain both classes."""
    vals = [v for v in per_model_auc(y, p, model_ids).values() if not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def evaluate(y, p, model_ids) -> dict[str, float]:
    return dict(
        accuracy=accuracy(y, p),
        auc=roc_auc(y, p),
        log_loss=log_loss(y, p),
        ece=expected_calibration_error(y, p),
        mean_model_auc=mean_model_auc(y, p, model_ids),
    )


def format_table(results: dict[str, dict[str, float]], digits: int = 4) -> str:
    """Methods as rows, metrics as columns, aligned for a terminal."""
    headers = ["method", "accuracy", "AUC", "log loss", "ECE", "mean model AUC"]
    rows = [[name] + [f"{r.get(k, math.nan):.{digits}f}" for k in METRIC_NAMES] for name, r in results.items()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])
