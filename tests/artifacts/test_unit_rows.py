"""ddcf.artifacts.embeddings.unit_rows is the one row normalisation; its two options reproduce the former copies
(checked bit for bit when they were merged, on the bundled MiniLM vectors and on 3,000 x 2,560 random rows with a
zero and a tiny row, against each former copy as it stood at commit 5c755eb)."""

import numpy as np

from ddcf.artifacts.embeddings import unit_rows


def _rows():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 33)).astype(np.float32)
    x[4] = 0.0
    x[9] = 1e-20  # norm about 6e-20: below the predictors' floor
    return x


def test_default_keeps_zero_rows_and_normalises_the_rest():
    x = _rows()
    u = unit_rows(x, np.arange(10, 20))
    assert u.dtype == np.float64 and u.shape == (10, 33)
    assert np.allclose(np.linalg.norm(u, axis=1), 1.0)
    full = unit_rows(x)
    assert not full[4].any() and np.isclose(np.linalg.norm(full[9]), 1.0)


def test_norm_dtype_rounds_a_wider_norm():
    x = _rows()
    v = x.astype(np.float32)
    norm = np.linalg.norm(v.astype(np.float64), axis=1, keepdims=True).astype(np.float32)
    want = v / np.where(norm > 0, norm, np.float32(1.0))
    got = unit_rows(x, dtype=np.float32, norm_dtype=np.float64)
    assert got.dtype == np.float32 and np.array_equal(got, want)
    assert not np.array_equal(unit_rows(x, dtype=np.float32), want)  # float32 norms round differently somewhere


def test_floor_divides_by_at_least_the_floor():
    x = _rows()
    got = unit_rows(x, floor=1e-12)
    assert not got[4].any()
    assert np.linalg.norm(got[9]) < 1e-6  # a tiny row stays tiny instead of becoming a unit vector
    assert np.array_equal(got[:4], unit_rows(x[:4]))
