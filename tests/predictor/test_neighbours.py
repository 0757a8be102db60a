"""The neighbour estimate (the kNN baseline's core) and its blend with a predictor's logits, against hand-computed
cases; the blend is chosen on validation only, and weight 0 is the predictor alone."""

import numpy as np
import pytest

from ddcf.predictor import baselines as B
from ddcf.predictor.calibration import logit
from ddcf.predictor.metrics import mean_model_auc
from ddcf.predictor.neighbours import Blend, NeighbourTable, blend_logits, choose_blend, mix, neighbour_logit


def _table():
    # three training questions on the unit circle; model 0 answered all, model 1 only questions 0 and 2
    emb = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    q = np.array([0, 1, 2, 0, 2])
    mid = np.array([0, 0, 0, 1, 1])
    y = np.array([1, 0, 1, 0, 1])
    return NeighbourTable.from_pairs(emb, q, mid, y, 2)


def test_table_holds_rates_answers_and_priors():
    t = _table()
    assert len(t) == 3
    np.testing.assert_array_equal(t.answered, [[True, True], [True, False], [True, True]])
    np.testing.assert_allclose(t.rate, [[1, 0], [0, 0], [1, 1]])
    np.testing.assert_allclose(t.prior, [2 / 3, 1 / 2])
    np.testing.assert_allclose(np.linalg.norm(t.keys, axis=1), 1.0, rtol=1e-6)


def test_estimate_by_hand():
    t = _table()
    # query at (1, 0.1): similarity order 0 (0.995), 1 (0.855), 2 (0.0995)
    est = t.estimate(np.array([[1.0, 0.1]]), k=2)
    # model 0: questions 0 and 1 -> (1 + 0) / 2; model 1: its first two answered are 0 and 2 -> (0 + 1) / 2
    np.testing.assert_allclose(est, [[0.5, 0.5]])
    # k = 4 with 3 answers for model 0 and 2 for model 1: the missing ones count as the model's base rate
    est4 = t.estimate(np.array([[1.0, 0.1]]), k=4)
    np.testing.assert_allclose(est4, [[(2 + 2 / 3) / 4, (1 + 2 * 0.5) / 4]], rtol=1e-6)


def test_knn_baseline_is_the_table_estimate():
    rng = np.random.default_rng(0)
    emb_tr, emb_ev = rng.normal(size=(40, 5)), rng.normal(size=(9, 5))
    q, mid = np.repeat(np.arange(40), 3), np.tile(np.arange(3), 40)
    y = rng.integers(0, 2, len(q))
    ev_q, ev_mid = np.repeat(np.arange(9), 3), np.tile(np.arange(3), 9)
    got = B.knn(emb_tr, q, mid, y, emb_ev, ev_q, ev_mid, 3, k=7)
    want = NeighbourTable.from_pairs(emb_tr, q, mid, y, 3).estimate(emb_ev, 7)[ev_q, ev_mid]
    np.testing.assert_array_equal(got, want.astype(np.float64))


def test_neighbour_logit_moves_0_and_1_by_half_an_answer():
    z = neighbour_logit(np.array([0.0, 0.5, 1.0]), k=50)
    np.testing.assert_allclose(z, [logit(0.01)[()], 0.0, logit(0.99)[()]])
    assert np.isfinite(z).all()


def test_mix_by_hand_and_weight_zero_is_the_predictor_alone():
    np.testing.assert_allclose(mix([2.0], [-2.0], 0.25, 2.0), [(0.75 * 2 - 0.25 * 2) / 2])
    z = np.array([0.3, -1.2])
    np.testing.assert_array_equal(mix(z, [9.0, 9.0], 0.0, 1.0), z)
    b = Blend(k=5, weight=0.0, temperature=1.0, val_mean_model_auc=0.7, val_mean_model_auc_alone=0.7)
    np.testing.assert_array_equal(blend_logits(_table(), b, np.ones((2, 2)), [0, 1], [0, 0], z), z)


def _clustered(seed: int, n: int = 300, models: int = 4):
    """Questions in 6 clusters; each model's correctness is decided by the cluster (what neighbours see)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, 8))
    c = rng.integers(0, 6, n)
    emb = centres[c] + 0.05 * rng.normal(size=(n, 8))
    skill = rng.uniform(0.05, 0.95, size=(6, models))
    q, mid = np.repeat(np.arange(n), models), np.tile(np.arange(models), n)
    y = (rng.uniform(size=len(q)) < skill[c[q], mid]).astype(np.int64)
    return emb, q, mid, y


def test_choose_blend_takes_informative_neighbours_and_refuses_useless_ones():
    emb, q, mid, y = _clustered(1)
    tr = q < 200
    va = ~tr
    table = NeighbourTable.from_pairs(emb[:200], q[tr], mid[tr], y[tr], 4)
    x_val, vq, vmid, vy = emb[200:], q[va] - 200, mid[va], y[va]
    noise = np.random.default_rng(5).normal(size=va.sum())  # a predictor that knows nothing
    b = choose_blend(table, x_val, vq, vmid, vy, noise, ks=(5, 20))
    assert b.weight > 0 and b.k in (5, 20) and b.val_mean_model_auc > b.val_mean_model_auc_alone + 0.1
    z = blend_logits(table, b, x_val, vq, vmid, noise)
    assert mean_model_auc(vy, z, vmid) == pytest.approx(b.val_mean_model_auc)
    est = table.estimate(x_val, b.k)[vq, vmid]
    np.testing.assert_allclose(z, ((1 - b.weight) * noise + b.weight * neighbour_logit(est, b.k)) / b.temperature)
    # a predictor that knows the labels exactly: no mix can raise its AUC, so the weight stays 0
    perfect = np.where(vy == 1, 3.0, -3.0)
    b0 = choose_blend(table, x_val, vq, vmid, vy, perfect, ks=(5, 20))
    assert b0.weight == 0.0 and b0.temperature == 1.0 and b0.val_mean_model_auc == pytest.approx(1.0)
