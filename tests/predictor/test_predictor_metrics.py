import math

import numpy as np
import pytest
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import roc_auc_score

from ddcf.predictor import metrics as M


@pytest.fixture
def sample():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.3 * y + rng.random(500) * 0.7, 0.001, 0.999)
    p[:50] = np.round(p[:50], 1)  # ties
    mid = rng.integers(0, 4, 500)
    return y, p, mid


def test_auc_matches_sklearn_with_ties(sample):
    y, p, _ = sample
    assert M.roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert M.roc_auc([0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)
    assert M.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0


def test_auc_is_nan_with_one_class():
    assert math.isnan(M.roc_auc([1, 1, 1], [0.2, 0.5, 0.9]))


def test_log_loss_and_accuracy_match_sklearn(sample):
    y, p, _ = sample
    assert M.log_loss(y, p) == pytest.approx(sk_log_loss(y, p), rel=1e-7)
    assert M.accuracy(y, p) == pytest.approx(np.mean((p >= 0.5) == y))
    assert math.isfinite(M.log_loss([1, 0], [0.0, 1.0]))  # clipped, not inf


def test_ece_by_hand():
    # 15 equal-width bins; bin index = floor(15 p), p == 1 goes to the last bin.
    y = np.array([1, 0, 1, 1, 0, 1])
    p = np.array([0.05, 0.06, 0.5, 0.52, 0.98, 1.0])
    # bin 0: p mean .055, y mean .5 -> |.5-.055|*2 ; bin 7 (0.4667..0.5333): p mean .51, y 1 -> .49*2
    # bin 14: p mean .99, y mean .5 -> .49*2
    expected = (abs(0.5 - 0.055) * 2 + abs(1 - 0.51) * 2 + abs(0.5 - 0.99) * 2) / 6
    assert M.expected_calibration_error(y, p) == pytest.approx(expected)
    assert M.expected_calibration_error([1, 0], [1.0, 0.0]) == 0.0
    # 0.13 and 0.14 straddle the bin edge 2/15 = 0.1333: two bins, not one
    assert M.expected_calibration_error([1, 0], [0.13, 0.14]) == pytest.approx((0.87 + 0.14) / 2)


def test_ece_perfectly_calibrated_is_small():
    rng = np.random.default_rng(1)
    p = rng.random(200_000)
    y = (rng.random(200_000) < p).astype(int)
    assert M.expected_calibration_error(y, p) < 0.01


def test_mean_model_auc_by_hand(sample):
    y, p, mid = sample
    per = M.per_model_auc(y, p, mid)
    assert set(per) == {0, 1, 2, 3}
    for m in range(4):
        assert per[m] == pytest.approx(roc_auc_score(y[mid == m], p[mid == m]))
    assert M.mean_model_auc(y, p, mid) == pytest.approx(np.mean([per[m] for m in range(4)]))


def test_mean_model_auc_skips_single_class_models():
    y = np.array([1, 1, 0, 1, 0, 1])
    p = np.array([0.2, 0.9, 0.1, 0.8, 0.4, 0.3])
    mid = np.array([0, 0, 1, 1, 2, 2])  # model 0 has only positives
    per = M.per_model_auc(y, p, mid)
    assert math.isnan(per[0]) and per[1] == 1.0 and per[2] == 0.0
    assert M.mean_model_auc(y, p, mid) == pytest.approx(0.5)


def test_evaluate_and_table(sample):
    y, p, mid = sample
    r = M.evaluate(y, p, mid)
    assert set(r) == set(M.METRIC_NAMES)
    table = M.format_table({"a": r, "b": r})
    assert "mean model AUC" in table and table.count("\n") == 3
