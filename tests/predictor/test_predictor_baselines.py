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
