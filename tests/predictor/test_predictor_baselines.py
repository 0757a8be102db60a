import numpy as np
import pytest

from ddcf.predictor import baselines as B


def test_base_rate_per_model():
    train_mid = np.array([0, 0, 0, 1, 1])
    train_y = np.array([1, 1, 0, 0, 0])
    pred = B.base_rate(train_mid, train_y, np.array([1, 0, 2]), num_models=3)
    # model 2 has no training rows: global rate 2/5
    assert pred.tolist() == pytest.approx([0.0, 2 / 3, 0.4])


def test_dataset_base_rate_with_fallback():
    train_mid = np.array([0, 0, 0, 0, 1, 1])
    train_ds = np.array(["gsm8k", "gsm8k", "math", "math", "gsm8k", "gsm8k"])
    train_y = np.array([1, 1, 0, 1, 1, 0])
    val_mid = np.array([0, 0, 1, 1])
    val_ds = np.array(["gsm8k", "math", "gsm8k", "math"])
    pred, used = B.dataset_base_rate(train_mid, train_ds, train_y, val_mid, val_ds, 2)
    assert used
    # model 1 never saw math in training: falls back to its overall rate 0.5
    assert pred.tolist() == pytest.approx([1.0, 0.5, 0.5, 0.5])


def test_dataset_base_rate_with_one_dataset_is_the_model_rate():
    mid = np.array([0, 0, 1])
    y = np.array([1, 0, 1])
    pred, used = B.dataset_base_rate(mid, np.array(["a"] * 3), y, np.array([0, 1]), np.array(["a", "a"]), 2)
    assert not used
    assert pred.tolist() == pytest.approx(B.base_rate(mid, y, np.array([0, 1]), 2).tolist())


def _line_embeddings(angles):
    a = np.asarray(angles, float)
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32)


def test_knn_uses_the_k_nearest_questions_each_model_answered():
    # Training questions on the unit circle at angles 0, .1, .2, .3, 3.0; the val question at angle 0.
    train_emb = _line_embeddings([0.0, 0.1, 0.2, 0.3, 3.0])
    # model 0 answered all; model 1 did not answer question 0 (the nearest).
    train_q = np.array([0, 1, 2, 3, 4, 1, 2, 3, 4])
    train_mid = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    train_y = np.array([1, 1, 0, 0, 0, 0, 1, 1, 1])
    val_emb = _line_embeddings([0.0])
    pred = B.knn(train_emb, train_q, train_mid, train_y, val_emb, np.array([0, 0]), np.array([0, 1]), 2, k=2)
    # model 0: nearest two are q0 (1), q1 (1) -> 1.0 ; model 1: nearest two it answered are q1 (0), q2 (1) -> 0.5
    assert pred.tolist() == pytest.approx([1.0, 0.5])


def test_knn_smooths_toward_base_rate_with_too_few_neighbours():
    train_emb = _line_embeddings([0.0, 0.1, 0.2])
    train_q = np.array([0, 0, 1, 2])
    train_mid = np.array([0, 1, 1, 1])
    train_y = np.array([1, 0, 0, 1])
    val_emb = _line_embeddings([0.05])
    # k=3 but model 0 answered one training question: (1 + 2 * base_rate 1.0) / 3 = 1.0
    # model 1 answered three: (0 + 0 + 1) / 3
    pred = B.knn(train_emb, train_q, train_mid, train_y, val_emb, np.array([0, 0]), np.array([0, 1]), 2, k=3)
    assert pred.tolist() == pytest.approx([1.0, 1 / 3])
    pred5 = B.knn(train_emb, train_q, train_mid, train_y, val_emb, np.array([0]), np.array([1]), 2, k=5)
    # 3 real neighbours (sum 1) + 2 filled with model 1's base rate 1/3
    assert pred5.tolist() == pytest.approx([(1 + 2 / 3) / 5])


def test_knn_matches_a_brute_force_loop_on_random_data():
    rng = np.random.default_rng(0)
    n_tr, n_va, m, d, k = 60, 7, 3, 5, 4
    tr = rng.standard_normal((n_tr, d)).astype(np.float32)
    va = rng.standard_normal((n_va, d)).astype(np.float32)
    answered = rng.random((n_tr, m)) < 0.6
    train_q, train_mid = np.nonzero(answered)
    train_y = rng.integers(0, 2, len(train_q))
    val_q = np.repeat(np.arange(n_va), m)
    val_mid = np.tile(np.arange(m), n_va)
    fast = B.knn(tr, train_q, train_mid, train_y, va, val_q, val_mid, m, k=k, pool=n_tr, chunk=3)
    trn = tr / np.linalg.norm(tr, axis=1, keepdims=True)
    van = va / np.linalg.norm(va, axis=1, keepdims=True)
    rate = B._model_rates(train_mid, train_y, m)
    for i, (q, mm) in enumerate(zip(val_q, val_mid)):
        mine = np.flatnonzero(train_mid == mm)
        sims = trn[train_q[mine]] @ van[q]
        near = mine[np.argsort(-sims, kind="stable")[:k]]
        expect = (train_y[near].sum() + (k - len(near)) * rate[mm]) / k
        assert fast[i] == pytest.approx(expect, abs=1e-6)


def _circle_segments(n, seg):
    """n questions evenly on the unit circle; the label flips every ``seg`` consecutive questions."""
    ang = np.arange(n) * 2 * np.pi / n
    return _line_embeddings(ang), (np.arange(n) // seg) % 2


def test_knn_tuned_picks_the_small_k_when_labels_change_fast():
    # Model 0's correctness flips every 5 neighbouring questions: only k = 5 sees one segment at a time.
    train_emb, train_y = _circle_segments(200, 5)
    centres = (np.arange(40) * 5 + 2) * 2 * np.pi / 200  # the middle question of every segment
    val_emb, val_y = _line_embeddings(centres + 0.004), np.arange(40) % 2
    eval_emb = _line_embeddings(centres - 0.004)
    q = np.arange(200)
    zeros = np.zeros(200, np.int64)
    vq, vm = np.arange(40), np.zeros(40, np.int64)
    pred, k, losses = B.knn_tuned(train_emb, q, zeros, train_y, val_emb, vq, vm, val_y, eval_emb, vq, vm, 1)
    assert k == 5 and sorted(losses) == [5, 10, 20, 50, 100]
    assert losses[5] < 1e-5 < 0.5 < min(losses[k] for k in (10, 20, 50, 100))
    assert pred.tolist() == pytest.approx(B.knn(train_emb, q, zeros, train_y, eval_emb, vq, vm, 1, k=5).tolist())
    assert pred.tolist() == pytest.approx((np.arange(40) % 2).tolist())


def test_knn_tuned_breaks_ties_toward_the_smaller_k_and_needs_val_rows():
    train_emb, _ = _circle_segments(30, 5)
    y = np.ones(30)  # every k predicts 1.0: equal val losses
    q, mid = np.arange(30), np.zeros(30, np.int64)
    _, k, losses = B.knn_tuned(train_emb, q, mid, y, train_emb[:3], q[:3], mid[:3], y[:3], train_emb[:3], q[:3],
                               mid[:3], 1, ks=(20, 10, 3))
    assert k == 3 and len(set(losses.values())) == 1
    with pytest.raises(ValueError, match="validation split is empty"):
        B.knn_tuned(train_emb, q, mid, y, train_emb[:0], q[:0], mid[:0], y[:0], train_emb[:3], q[:3], mid[:3], 1)


def _planted_logistic(n_q, dim, rng, directions, bias):
    e = rng.standard_normal((n_q, dim))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    logits = 10.0 * e @ directions.T + bias  # (questions, models)
    return e, 1.0 / (1.0 + np.exp(-logits))


def test_logistic_per_model_recovers_planted_models_and_handles_degenerate_ones():
    rng = np.random.default_rng(0)
    dim = 6
    u = rng.standard_normal((2, dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    bias = np.array([0.5, -0.5])

    def split(n_q):
        e, p_true = _planted_logistic(n_q, dim, rng, u, bias)
        q = np.repeat(np.arange(n_q), 2)
        mid = np.tile([0, 1], n_q)
        p = p_true[q, mid]
        return e, q, mid, (rng.random(len(p)) < p).astype(float), p

    tr, va, ev = split(600), split(150), split(300)
    # Model 2 answered 4 training questions, all correctly; model 3 none at all.
    tr_e = np.vstack([tr[0], rng.standard_normal((4, dim))])
    tr_q = np.r_[tr[1], 600 + np.arange(4)]
    tr_m = np.r_[tr[2], [2, 2, 2, 2]]
    tr_y = np.r_[tr[3], [1, 1, 1, 1]]
    ev_q, ev_m = np.r_[ev[1], [0, 1]], np.r_[ev[2], [2, 3]]
    pred, c = B.logistic_per_model(tr_e, tr_q, tr_m, tr_y, va[0], va[1], va[2], va[3], ev[0], ev_q, ev_m, 4)
    assert c in B.LOGISTIC_C_GRID
    planted = pred[:-2]
    assert np.corrcoef(planted, ev[4])[0, 1] > 0.97
    for m in (0, 1):
        mine = ev[2] == m
        assert np.corrcoef(planted[mine], ev[4][mine])[0, 1] > 0.97
    assert pred[-2] == pytest.approx(5 / 6)  # one class only: Laplace-smoothed base rate (4 + 1) / (4 + 2)
    assert pred[-1] == pytest.approx(tr_y.mean())  # no training rows: the global training rate
    assert pred.dtype == np.float64 and np.all((pred > 0) & (pred < 1))


def test_logistic_per_model_picks_weak_regularisation_on_separable_data():
    rng = np.random.default_rng(1)
    e = rng.standard_normal((400, 5))
    y = (e[:, 0] > 0).astype(float)  # one model, correct exactly when the first coordinate is positive
    mid, q = np.zeros(200, np.int64), np.arange(200)
    tr, va, ev = slice(0, 200), slice(200, 300), slice(300, 400)
    pred, c = B.logistic_per_model(e[tr], q, mid, y[tr], e[va], q[:100], mid[:100], y[va], e[ev], q[:100],
                                   mid[:100], 1)
    assert c == max(B.LOGISTIC_C_GRID)
    assert np.mean((pred >= 0.5) == (y[ev] > 0.5)) >= 0.97
