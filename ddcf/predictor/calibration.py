"""Post-hoc temperature scaling of P(correct) logits, fitted on validation rows only.

k-greedy mixes predicted correctness with cosine similarity in one cost, so an
over- or under-confident predictor silently changes the effective lambda; one
temperature ``T`` (``p = sigmoid(z / T)``) fixes the confidence without changing
any ranking (AUCs, per-model AUCs and Spearman are unchanged by it).
"""

from __future__ import annotations

import math

import numpy as np

from ddcf.predictor.metrics import LOGLOSS_EPS, log_loss

T_BOUNDS = (0.05, 20.0)


def logit(p, eps: float = LOGLOSS_EPS) -> np.ndarray:
    """Logits of probabilities clipped to ``[eps, 1 - eps]`` (so a base rate of 0 or 1 stays finite)."""
    p = np.clip(np.asarray(p, np.float64), eps, 1 - eps)
    return np.log(p) - np.log1p(-p)


def apply_temperature(logits, T: float) -> np.ndarray:
    """``sigmoid(logits / T)`` as float64 probabilities."""
    if not (math.isfinite(T) and T > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {T}")
    z = np.asarray(logits, np.float64) / T
    # The two-branch form never overflows exp().
    ez = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + ez), ez / (1.0 + ez))


def fit_temperature(logits_val, y_val, bounds: tuple[float, float] = T_BOUNDS) -> float:
    """The T in ``bounds`` minimising the validation log loss of ``sigmoid(logits_val / T)``.

    A 1-D bounded search over log T (the loss is smooth and, in 1/T, convex).
    T > 1 softens an over-confident predictor, T < 1 sharpens an under-confident
    one; a T at a bound means the logits carry almost no signal or almost no noise.
    """
    from scipy.optimize import minimize_scalar

    z = np.asarray(logits_val, np.float64).ravel()
    y = np.asarray(y_val, np.float64).ravel()
    if z.shape != y.shape:
        raise ValueError(f"logits {z.shape} and labels {y.shape} differ in length")
    if not len(z):
        raise ValueError("fit_temperature needs validation rows, but there are none")
    if not np.all(np.isfinite(z)):
        raise ValueError("fit_temperature got non-finite logits (clip probabilities with calibration.logit)")
    lo, hi = (math.log(b) for b in bounds)
    res = minimize_scalar(lambda s: log_loss(y, apply_temperature(z, math.exp(s))), bounds=(lo, hi),
                          method="bounded", options=dict(xatol=1e-5))
    return float(math.exp(res.x))
