import math

import numpy as np
import pytest
from scipy.stats import spearmanr
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
    assert set(r) == set(M.METRIC_NAMES) | {"n_models_auc", "n_models_skipped"}
    assert (r["n_models_auc"], r["n_models_skipped"]) == (4, 0)
    table = M.format_table({"a": r, "b": r})
    assert "mean model AUC" in table and table.count("\n") == 3
    assert "Spearman" not in table and "n/a" not in table


def test_reliability_bins_by_hand_and_ece_agree():
    # The 6-row example of test_ece_by_hand, bin by bin.
    y = np.array([1, 0, 1, 1, 0, 1])
    p = np.array([0.05, 0.06, 0.5, 0.52, 0.98, 1.0])
    rb = M.reliability_bins(y, p)
    assert rb.count.tolist() == [2, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 2]
    assert rb.edges[0] == 0.0 and rb.edges[-1] == 1.0 and len(rb.edges) == 16
    used = rb.count > 0
    assert rb.mean_p[used].tolist() == pytest.approx([0.055, 0.51, 0.99])
    assert rb.mean_y[used].tolist() == pytest.approx([0.5, 1.0, 0.5])
    assert np.isnan(rb.mean_p[~used]).all() and np.isnan(rb.mean_y[~used]).all()
    assert rb.ece() == M.expected_calibration_error(y, p) == pytest.approx((0.445 * 2 + 0.49 * 2 + 0.49 * 2) / 6)
    # 3 bins: [0, 1/3) [1/3, 2/3) [2/3, 1]
    rb3 = M.reliability_bins([0, 1, 1, 0], [0.1, 0.4, 0.9, 1.0], n_bins=3)
    assert rb3.count.tolist() == [1, 1, 2]
    assert rb3.ece() == pytest.approx((0.1 + 0.6 + abs(0.5 - 0.95) * 2) / 4)
    assert math.isnan(M.reliability_bins([], []).ece())


def test_mean_model_auc_detail_counts_the_skipped_model():
    y = np.array([1, 1, 0, 1, 0, 1, 0, 0])
    p = np.array([0.2, 0.9, 0.1, 0.8, 0.4, 0.3, 0.6, 0.7])
    mid = np.array([0, 0, 1, 1, 2, 2, 3, 3])  # model 0 only positives, model 3 only negatives
    # model 1: the positive scores above the negative -> 1; model 2: below -> 0
    assert M.mean_model_auc_detail(y, p, mid) == (pytest.approx(0.5), 2, 2)
    assert M.mean_model_auc(y, p, mid) == pytest.approx(0.5)
    r = M.evaluate(y, p, mid)
    assert (r["mean_model_auc"], r["n_models_auc"], r["n_models_skipped"]) == (pytest.approx(0.5), 2, 2)
    table = M.format_table({"a": r, "b": r})
    assert table.count("2 skipped (their rows have one class only)") == 1  # once, not once per method
    mean, used, skipped = M.mean_model_auc_detail([1, 1, 0], [0.1, 0.2, 0.3], [0, 0, 1])
    assert math.isnan(mean) and (used, skipped) == (0, 2)


def test_spearman_with_ties_matches_scipy():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 5, 200) / 4.0  # pass rates k/4: many ties
    b = np.round(a + rng.normal(0, 0.3, 200), 1)  # ties in the predictions too
    assert M.spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    # By hand: ranks of a = [1, 2.5, 2.5, 4], of b = [1, 2, 3, 4]: rho = 4.5 / sqrt(4.5 * 5)
    assert M.spearman([0.0, 0.5, 0.5, 1.0], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(4.5 / math.sqrt(4.5 * 5))
    assert math.isnan(M.spearman([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]))  # constant pass rate: undefined
    assert M.spearman([0.0, 0.5, 1.0], [0.3, 0.3, 0.3]) == 0.0  # constant prediction ranks nothing


def test_spearman_per_model_skips_and_counts():
    rate = np.array([0.0, 0.25, 1.0, 0.75, 0.5, 0.5, 0.5, 0.0, 1.0, 0.2, 0.4, 0.6, 0.8])
    p = np.array([0.1, 0.2, 0.9, 0.5, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 0.6, 0.4, 0.2])
    mid = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3])
    per = M.spearman_per_model(rate, p, mid)
    # model 0: ranks of rate [1, 2, 4, 3] vs p [1, 2, 4, 3] -> 1; model 1: constant rate; model 2: 2 rows
    # model 3: rates increase, predictions decrease -> -1
    assert per[0] == pytest.approx(1.0) and per[3] == pytest.approx(-1.0)
    assert math.isnan(per[1]) and math.isnan(per[2])
    for m in (0, 3):
        assert per[m] == pytest.approx(spearmanr(rate[mid == m], p[mid == m]).statistic)
    assert M.mean_model_spearman_detail(rate, p, mid) == (pytest.approx(0.0), 2, 2)
    assert M.mean_model_spearman(rate, p, mid) == pytest.approx(0.0)
    y = (rate >= 0.5).astype(int)
    r = M.evaluate(y, p, mid, pass_rate=rate)
    assert (r["mean_model_spearman"], r["n_models_spearman"], r["n_models_spearman_skipped"]) == (
        pytest.approx(0.0), 2, 2)
    table = M.format_table({"with rates": r, "without": M.evaluate(y, p, mid)})
    assert "mean model Spearman" in table.splitlines()[0]
    assert "2 skipped (< 3 rows or a constant pass rate) [with rates]" in table
    assert "n/a" in table.splitlines()[3]  # "without" has no Spearman: n/a, with a footnote
    assert "n/a: not computed" in table


def test_table_prints_na_for_undefined_values():
    r = M.evaluate([1, 1], [0.7, 0.8], [0, 1])  # one class: AUCs undefined
    assert math.isnan(r["auc"]) and math.isnan(r["mean_model_auc"])
    table = M.format_table({"only positives": r})
    assert "nan" not in table.lower().replace("n/a", "")
    # accuracy 1, AUC n/a, log loss -(ln .7 + ln .8) / 2, ECE (.3 + .2) / 2, mean model AUC n/a
    ll = -(math.log(0.7) + math.log(0.8)) / 2
    assert table.splitlines()[2].split()[-5:] == ["1.0000", "n/a", f"{ll:.4f}", "0.2500", "n/a"]
    assert "mean model AUC over 0 models, 2 skipped" in table
