"""Temperature scaling on validation, and the reliability diagram drawn from the ECE's own bins."""

import math

import numpy as np
import pytest

from ddcf.predictor import calibration as C
from ddcf.predictor.metrics import expected_calibration_error, log_loss, roc_auc
from ddcf.predictor.plots import plot_reliability


def _toy(n, seed, overconfidence):
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, n)  # the true logit
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    return overconfidence * z, y


def test_temperature_undoes_a_threefold_overconfidence():
    logits, y = _toy(50_000, 0, overconfidence=3.0)
    T = C.fit_temperature(logits, y)
    assert T == pytest.approx(3.0, rel=0.05)
    before, after = log_loss(y, C.apply_temperature(logits, 1.0)), log_loss(y, C.apply_temperature(logits, T))
    assert after < before - 0.05
    assert expected_calibration_error(y, C.apply_temperature(logits, T)) < 0.01
    # A monotone map: the ranking (AUC) is untouched.
    assert roc_auc(y, C.apply_temperature(logits, T)) == pytest.approx(roc_auc(y, logits), abs=1e-12)


def test_temperature_is_one_when_already_calibrated():
    logits, y = _toy(50_000, 1, overconfidence=1.0)
    assert C.fit_temperature(logits, y) == pytest.approx(1.0, abs=0.05)


def test_temperature_stays_in_bounds_and_rejects_bad_input():
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 5, 2000)
    y = rng.integers(0, 2, 2000)  # logits carry no signal: the best T is the largest allowed
    assert C.fit_temperature(noise, y) == pytest.approx(C.T_BOUNDS[1], rel=1e-3)
    with pytest.raises(ValueError, match="no"):
        C.fit_temperature([], [])
    with pytest.raises(ValueError, match="non-finite"):
        C.fit_temperature([0.0, math.inf], [0, 1])
    with pytest.raises(ValueError, match="temperature"):
        C.apply_temperature([0.0], 0.0)


def test_logit_and_apply_temperature_round_trip_without_overflow():
    p = np.array([0.0, 1e-3, 0.5, 0.9, 1.0])
    back = C.apply_temperature(C.logit(p), 1.0)
    assert back == pytest.approx(np.clip(p, 1e-7, 1 - 1e-7), abs=1e-12)
    assert C.apply_temperature([-1e4, 1e4], 0.05).tolist() == [0.0, 1.0]  # no overflow warning, no NaN


def test_reliability_diagram_is_written(tmp_path):
    logits, y = _toy(3000, 3, overconfidence=3.0)
    out = plot_reliability(
        {"over-confident": (y, C.apply_temperature(logits, 1.0)),
         "temperature-scaled": (y, C.apply_temperature(logits, 3.0)),
         "one row": ([1], [0.5])},
        tmp_path / "fig" / "reliability.png",
    )
    assert out == tmp_path / "fig" / "reliability.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
    assert [p.name for p in out.parent.iterdir()] == ["reliability.png"]  # no temporary file left
