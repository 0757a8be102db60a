"""The IRT baseline recovers a planted multidimensional 2PL whose question parameters are linear in the embedding."""

import numpy as np
import pytest

from ddcf.predictor.irt import L2_GRID, fit_irt
from ddcf.predictor.metrics import spearman


def _planted(dims, n_q=2500, n_models=20, dim=16, seed=0):
    """Draw (e, A, w, c, theta) and answers from exactly the model of ddcf.predictor.irt; split by question."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(dim) + 1.5 * rng.standard_normal((n_q, dim))  # a shared direction, as embedders have
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    A = 1.2 * rng.standard_normal((dims, dim))
    # theta . a is unchanged by flipping the signs of both; plant the convention the fit uses (IRT's usual
    # a > 0): a positive mean discrimination, so that a larger theta is a stronger model.
    A *= np.sign(A @ e.mean(axis=0))[:, None]
    w = 1.5 * rng.standard_normal(dim)
    c = -0.3
    theta = rng.standard_normal((n_models, dims))
    logit = (e @ A.T) @ theta.T - (e @ w + c)[:, None]  # (questions, models)
    p_true = 1.0 / (1.0 + np.exp(-logit))
    y = (rng.random(p_true.shape) < p_true).astype(float)
    split = np.arange(n_q) % 5  # 3/5 train, 1/5 val, 1/5 held-out questions

    def part(keep):
        qs = np.flatnonzero(np.isin(split, keep))
        q = np.repeat(np.arange(len(qs)), n_models)
        m = np.tile(np.arange(n_models), len(qs))
        return m, q, y[qs][q, m], e[qs], p_true[qs][q, m]

    return part([0, 1, 2]), part([3]), part([4]), theta


@pytest.mark.parametrize("dims", [1, 2])
def test_irt_recovers_planted_probabilities_on_held_out_questions(dims):
    tr, va, te, theta = _planted(dims)
    model = fit_irt(*tr[:4], *va[:4], num_models=20, dims=dims, seed=0)
    p = model.predict(te[0], te[1], te[3])
    assert p.dtype == np.float64 and p.shape == te[0].shape
    assert np.corrcoef(p, te[4])[0, 1] > 0.95
    assert model.l2 in model.val_log_loss and len(model.val_log_loss) == len(L2_GRID)
    assert model.theta.shape == (20, dims) and model.A.shape == (dims, 16)
    if dims == 1:
        # The sign convention (mean discrimination > 0) makes theta an ability: its order is the planted one.
        assert spearman(theta[:, 0], model.theta[:, 0]) > 0.9


def test_irt_is_deterministic_and_handles_a_model_without_training_rows():
    tr, va, te, _ = _planted(2, n_q=500, n_models=5, dim=8, seed=1)
    keep = tr[0] != 4  # model 4 has no training rows
    tr = tuple(a[keep] if a.shape[:1] == keep.shape else a for a in tr)
    a = fit_irt(*tr[:4], *va[:4], num_models=5, dims=2, seed=3)
    b = fit_irt(*tr[:4], *va[:4], num_models=5, dims=2, seed=3)
    assert np.array_equal(a.predict(te[0], te[1], te[3]), b.predict(te[0], te[1], te[3]))
    assert np.all(a.theta[4] == 0.0)  # no data, only the penalty: stays at its start
    # ... so it predicts the question's difficulty alone, sigmoid(-b(q))
    _, diff = a.question_params(te[3])
    rows = te[0] == 4
    assert a.predict(te[0][rows], te[1][rows], te[3]) == pytest.approx(1 / (1 + np.exp(diff[te[1][rows]])))


def test_irt_rejects_an_empty_validation_split():
    tr, va, _, _ = _planted(1, n_q=50, n_models=2, dim=4)
    with pytest.raises(ValueError, match="validation split is empty"):
        fit_irt(*tr[:4], va[0][:0], va[1][:0], va[2][:0], va[3], num_models=2)
