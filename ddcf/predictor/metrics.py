"""Evaluation metrics for P(correct) predictions, in plain numpy (fast on ~10^5 rows).

All functions take ``y`` (0/1 labels) and ``p`` (predicted P(correct)).
Undefined values (an AUC with one class only) are NaN, never a guess; the
per-model means also say how many models they used and skipped, and
:func:`format_table` prints "n/a" for a NaN with a footnote saying why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ECE_BINS = 15
LOGLOSS_EPS = 1e-7  # probabilities are clipped to [eps, 1-eps] so a 0/1 base rate gives a finite loss
METRIC_NAMES = ("accuracy", "auc", "log_loss", "ece", "mean_model_auc")
SPEARMAN_MIN_ROWS = 3  # a rank correlation over fewer rows says nothing


def _as_arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and predictions {p.shape} differ in length")
    return y, p


def accuracy(y, p, threshold: float = 0.5) -> float:
    y, p = _as_arrays(y, p)
    return float(np.mean((p >= threshold) == (y > 0.5))) if len(y) else math.nan


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties getting the average of the ranks they span (as scipy's ``rankdata``)."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_x)) + 1]
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def roc_auc(y, p) -> float:
    """ROC-AUC via the rank-sum (Mann-Whitney) statistic, ties getting their average rank."""
    y, p = _as_arrays(y, p)
    pos = y > 0.5
    n_pos = int(pos.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = _average_ranks(p)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def log_loss(y, p, eps: float = LOGLOSS_EPS) -> float:
    y, p = _as_arrays(y, p)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))) if len(y) else math.nan


@dataclass(frozen=True)
class ReliabilityBins:
    """Equal-width bins of [0, 1] over p: the data of the reliability diagram and of the ECE.

    Bin b holds ``b/n <= p < (b+1)/n``; the last bin also holds p == 1.  ``mean_p``
    and ``mean_y`` are NaN for an empty bin (nothing to plot there).
    """

    edges: np.ndarray  # (n_bins + 1,)
    count: np.ndarray  # (n_bins,) int
    sum_p: np.ndarray
    sum_y: np.ndarray

    @property
    def mean_p(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.sum_p / np.maximum(self.count, 1), math.nan)

    @property
    def mean_y(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.sum_y / np.maximum(self.count, 1), math.nan)

    def ece(self) -> float:
        n = int(self.count.sum())
        return float(np.abs(self.sum_y - self.sum_p).sum() / n) if n else math.nan


def reliability_bins(y, p, n_bins: int = ECE_BINS) -> ReliabilityBins:
    y, p = _as_arrays(y, p)
    bins = np.clip((p * n_bins).astype(np.int64), 0, n_bins - 1)
    return ReliabilityBins(
        edges=np.linspace(0.0, 1.0, n_bins + 1),
        count=np.bincount(bins, minlength=n_bins),
        sum_p=np.bincount(bins, weights=p, minlength=n_bins),
        sum_y=np.bincount(bins, weights=y, minlength=n_bins),
    )


def expected_calibration_error(y, p, n_bins: int = ECE_BINS) -> float:
    """ECE of P(correct): ``sum_b n_b/N * |mean(y_b) - mean(p_b)|`` over the bins of :func:`reliability_bins`.

    (This is the reliability of the predicted probability of the positive class,
    which is what a difficulty score uses, not the max-class "confidence" ECE.)
    """
    return reliability_bins(y, p, n_bins).ece()


def _model_slices(model_ids) -> list[np.ndarray]:
    """Row indices of each model, one array per model present (tens of models, not a loop over pairs)."""
    model_ids = np.asarray(model_ids).ravel()
    order = np.argsort(model_ids, kind="stable")
    cuts = np.flatnonzero(np.diff(model_ids[order])) + 1
    return [c for c in np.split(order, cuts) if len(c)]


def per_model_auc(y, p, model_ids) -> dict[int, float]:
    """AUC within each model's rows (NaN where that model's rows have one class only)."""
    y, p = _as_arrays(y, p)
    model_ids = np.asarray(model_ids).ravel()
    return {int(model_ids[c[0]]): roc_auc(y[c], p[c]) for c in _model_slices(model_ids)}


def _mean_detail(values) -> tuple[float, int, int]:
    vals = list(values)
    used = [v for v in vals if not math.isnan(v)]
    return (float(np.mean(used)) if used else math.nan), len(used), len(vals) - len(used)


def mean_model_auc_detail(y, p, model_ids) -> tuple[float, int, int]:
    """``(mean per-model AUC, models used, models skipped because their rows have one class)``."""
    return _mean_detail(per_model_auc(y, p, model_ids).values())


def mean_model_auc(y, p, model_ids) -> float:
    """Mean of per-model AUCs over the models whose rows contain both classes."""
    return mean_model_auc_detail(y, p, model_ids)[0]


def spearman(a, b) -> float:
    """Spearman rank correlation with average ranks for ties (scipy's definition).

    NaN when ``a`` is constant (nothing to rank against); 0 when only ``b`` is
    constant: a predictor that gives one value to every row ranks nothing, the
    same "no information" that its AUC of 0.5 expresses.
    """
    a, b = _as_arrays(a, b)
    ra, rb = _average_ranks(a), _average_ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    sa, sb = float(ra @ ra), float(rb @ rb)
    if sa <= 0:
        return math.nan
    return float(ra @ rb / math.sqrt(sa * sb)) if sb > 0 else 0.0


def spearman_per_model(pass_rate, p, model_ids, min_rows: int = SPEARMAN_MIN_ROWS) -> dict[int, float]:
    """Spearman of predicted P(correct) against measured pass rates within each model's rows.

    NaN (skipped) for a model with fewer than ``min_rows`` rows or a constant pass rate.
    """
    r, p = _as_arrays(pass_rate, p)
    model_ids = np.asarray(model_ids).ravel()
    out = {}
    for c in _model_slices(model_ids):
        out[int(model_ids[c[0]])] = spearman(r[c], p[c]) if len(c) >= min_rows else math.nan
    return out


def mean_model_spearman_detail(pass_rate, p, model_ids) -> tuple[float, int, int]:
    """``(mean per-model Spearman, models used, models skipped: < 3 rows or a constant pass rate)``."""
    return _mean_detail(spearman_per_model(pass_rate, p, model_ids).values())


def mean_model_spearman(pass_rate, p, model_ids) -> float:
    return mean_model_spearman_detail(pass_rate, p, model_ids)[0]


def evaluate(y, p, model_ids, pass_rate=None) -> dict[str, float]:
    """The metrics of :data:`METRIC_NAMES` plus how many models the per-model AUC used and skipped.

    With ``pass_rate`` (measured per-row pass rates; the caller passes it only when
    they are not all from one sample) also ``mean_model_spearman`` and its counts.
    """
    auc_mean, n_auc, n_skip = mean_model_auc_detail(y, p, model_ids)
    out = dict(
        accuracy=accuracy(y, p),
        auc=roc_auc(y, p),
        log_loss=log_loss(y, p),
        ece=expected_calibration_error(y, p),
        mean_model_auc=auc_mean,
        n_models_auc=n_auc,
        n_models_skipped=n_skip,
    )
    if pass_rate is not None:
        rho, n_rho, n_rho_skip = mean_model_spearman_detail(pass_rate, p, model_ids)
        out.update(mean_model_spearman=rho, n_models_spearman=n_rho, n_models_spearman_skipped=n_rho_skip)
    return out


_HEADERS = dict(accuracy="accuracy", auc="AUC", log_loss="log loss", ece="ECE", mean_model_auc="mean model AUC",
                mean_model_spearman="mean model Spearman")


def _cell(v, digits: int) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def format_table(results: dict[str, dict[str, float]], digits: int = 4) -> str:
    """Methods as rows, metrics as columns, aligned for a terminal.

    The Spearman column appears only when some method has it.  A NaN prints as
    "n/a", and footnotes under the table say which models a per-model mean
    skipped, so an undefined figure is never silent.
    """
    keys = list(METRIC_NAMES)
    if any("mean_model_spearman" in r for r in results.values()):
        keys.append("mean_model_spearman")
    headers = ["method"] + [_HEADERS[k] for k in keys]
    rows = [[name] + [_cell(r.get(k, math.nan), digits) for k in keys] for name, r in results.items()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    # The skip counts depend on the rows, not the method, so each distinct note is printed once.
    notes: dict[str, list[str]] = {}
    for name, r in results.items():
        if r.get("n_models_skipped"):
            notes.setdefault(f"mean model AUC over {r.get('n_models_auc', 0)} models, {r['n_models_skipped']} "
                             "skipped (their rows have one class only)", []).append(name)
        if r.get("n_models_spearman_skipped"):
            notes.setdefault(f"mean model Spearman over {r.get('n_models_spearman', 0)} models, "
                             f"{r['n_models_spearman_skipped']} skipped (< {SPEARMAN_MIN_ROWS} rows or a constant "
                             "pass rate)", []).append(name)
        if any(_cell(r.get(k, math.nan), digits) == "n/a" for k in keys):
            notes.setdefault("n/a: not computed, or undefined on these rows (no rows, one class only, every model "
                             "skipped)",
                             []).append(name)
    notes_text = [n if len(who) == len(results) else f"{n} [{', '.join(who)}]" for n, who in notes.items()]
    table = [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]
    return "\n".join(table + [f"  * {n}" for n in notes_text])
