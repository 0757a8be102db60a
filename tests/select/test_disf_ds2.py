"""disf against its straightforward implementation and random; crowd's quotas and accuracy stability (ds2 and
crowd against the released code: test_released_ds2_crowd.py)."""

import numpy as np
from helpers_select import clustered

from ddcf.select.methods import crowd, disf


def test_disf_matches_the_straightforward_greedy_and_beats_random():
    x = clustered(120, 12, seed=3)
    fast, cost = disf.disf_fast(x, 15)
    ref, ref_cost = disf.disf_reference(x, 15)
    assert np.array_equal(fast, ref) and np.allclose(cost, ref_cost, rtol=1e-12, atol=0)
    u, _ = disf.normalised(x)
    assert np.isclose(cost[-1], disf.objective(u[fast]), rtol=1e-12)
    rng = np.random.default_rng(0)
    randoms = [disf.objective(u[rng.choice(120, 15, replace=False)]) for _ in range(50)]
    assert cost[-1] < min(randoms)  # more even eigenvalues than every random subset tried
    # the definition: ||C||_F^2 = sum of squared eigenvalues of the covariance of the selection
    c = u[fast].T @ u[fast] / 15
    assert np.isclose(cost[-1], np.sum(np.linalg.eigvalsh(c) ** 2), rtol=1e-10)


def test_disf_torch_path_and_ties_agree_with_numpy():
    x = clustered(150, 10, seed=4, dup_frac=0.3)  # duplicates: exact ties at every pick
    norm = disf.norms(x)
    a, ca = disf.disf_fast(x, 25)
    b, cb = disf._disf_torch(x, norm, disf.fourth_powers(x, norm), 25, "cpu")  # the CUDA code path, on the CPU
    assert np.array_equal(a, b) and np.allclose(ca, cb, rtol=1e-12)
    assert np.array_equal(a, disf.disf_reference(x, 25)[0]) and a[0] == 0  # the first pick ties: row 0


def test_disf_skips_zero_rows_and_is_deterministic():
    x = clustered(40, 6, seed=1)
    x[5] = 0.0
    a, _ = disf.disf_fast(x, 39)
    assert 5 not in a and np.array_equal(a, disf.disf_fast(x, 39)[0])


def test_crowd_quotas_cover_every_cluster():
    for sizes, k in (([50, 3, 1, 20], 4), ([5, 5, 5], 7), ([100, 1], 30)):
        q = crowd.quotas(np.array(sizes), k)
        assert q.sum() == k and (q >= 1).all() and (q <= np.array(sizes)).all()
    assert crowd.quotas(np.array([3, 3, 3]), 2).sum() == 2
    # stability: a question that ranks models exactly as their accuracy has rho 1, the reverse -1
    p = np.array([[0.1, 0.9], [0.5, 0.5], [0.9, 0.1]])
    assert np.allclose(crowd.spearman_rows(p, np.array([0.2, 0.5, 0.8])), [1.0, -1.0])
