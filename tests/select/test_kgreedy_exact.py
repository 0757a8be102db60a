"""kgreedy_fast and kgreedy_torch must equal kgreedy_reference bit for bit; all three must equal eq. 5, with
either redundancy (floor = max(0, max sim) as in the released code, the default; signed = eq. 5 as written)."""

import math

import numpy as np
import pytest
from helpers_select import clustered, oracle

from ddcf.select import kgreedy_fast, kgreedy_reference
from ddcf.select.kgreedy import exact
from ddcf.select.kgreedy.torch import kgreedy_torch

LAMDAS = (0.0, 0.2, 0.5, 1.0)
REDUNDANCY = ("floor", "signed")


def assert_same(a, b):
    assert np.array_equal(a.indices, b.indices), (a.method, b.method, a.indices[:12], b.indices[:12])
    assert np.array_equal(a.cost, b.cost)
    assert np.array_equal(a.max_similarity, b.max_similarity, equal_nan=True)


def random_case(seed: int):
    """Small inputs full of exact ties: duplicated rows, repeated/constant predicted correctness, scaled rows."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 160))
    d = int(rng.integers(1, 24))
    x = clustered(n, d, seed, dup_frac=0.3 if seed % 2 == 0 else 0.0, scale_rows=seed % 3 == 0)
    if seed % 6 == 1:  # centred rows: about half the cosines negative, where floor and signed part ways
        x = (x - x.mean(axis=0)).astype(np.float32)
    if seed % 7 == 0:  # near-duplicates: differ only in the last bits
        x[: n // 2] = x[: n // 2] * np.float32(1 + 1e-7)
    pc = rng.random(n).astype(np.float32)
    if seed % 4 == 1:
        pc = (np.round(pc * 3) / 3).astype(np.float32)
    if seed % 5 == 2:
        pc[:] = 0.5
    k = int(rng.integers(1, n + 1))
    return x, pc, k


@pytest.mark.parametrize("redundancy", REDUNDANCY)
def test_oracle_on_tiny_inputs(redundancy):
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        n, d = int(rng.integers(1, 14)), int(rng.integers(1, 7))
        x = clustered(n, d, seed, dup_frac=0.4 if seed % 2 else 0.0)
        if seed % 4 == 3:  # isotropic rows: many negative cosines
            x = rng.standard_normal((n, d)).astype(np.float32)
        pc = (np.round(rng.random(n) * 2) / 2).astype(np.float32) if seed % 3 else rng.random(n).astype(np.float32)
        for k in sorted({1, n, max(1, n // 2)}):
            for lam in LAMDAS:
                picks, costs, msims = oracle(x, pc, k, lam, redundancy)
                ref = kgreedy_reference(x, pc, k, lam, redundancy=redundancy)
                assert np.array_equal(ref.indices, picks), (seed, k, lam)
                assert np.array_equal(ref.cost, costs)
                assert np.array_equal(ref.max_similarity, msims, equal_nan=True)


@pytest.mark.parametrize("redundancy", REDUNDANCY)
@pytest.mark.parametrize("lamda", LAMDAS)
def test_fast_and_torch_match_reference_on_many_inputs(lamda, redundancy):
    for seed in range(25):
        x, pc, k = random_case(seed)
        ref = kgreedy_reference(x, pc, k, lamda, redundancy=redundancy)
        # stress the lazy bookkeeping: tiny frontier, tiny GEMM batches, chunked and unchunked products
        fast = kgreedy_fast(x, pc, k, lamda, redundancy=redundancy, frontier=1 + seed % 9, sub_batch=1 + seed % 5,
                            min_batch=seed % 4, gemm_chunk=[None, 3, 640][seed % 3], block_rows=7)
        assert_same(ref, fast)
        assert fast.stats.get("bound_violations", 0) == 0
        if seed % 3 == 0 or seed % 6 == 1:
            assert_same(ref, kgreedy_torch(x, pc, k, lamda, redundancy=redundancy, device="cpu", block_rows=5))


@pytest.mark.parametrize("redundancy", REDUNDANCY)
@pytest.mark.parametrize("lamda", (0.0, 0.2, 0.5))
def test_fast_with_long_runs_probes_and_frontier_rebuilds(lamda, redundancy):
    """k in the hundreds: long-stale rows, probes, padding, frontier rebuilds all happen.  The rows are centred
    (almost half the cosines negative), so the floor is often what decides a pick."""
    x = clustered(900, 48, 11, dup_frac=0.05)
    x = (x - 0.85 * x.mean(axis=0)).astype(np.float32)
    pc = np.random.default_rng(11).beta(2, 2, 900).astype(np.float32)
    ref = kgreedy_reference(x, pc, 300, lamda, redundancy=redundancy)
    fast = kgreedy_fast(x, pc, 300, lamda, redundancy=redundancy, frontier=64)
    assert_same(ref, fast)
    st = fast.stats
    assert st["bound_violations"] == 0 and st["probe_rows"] > 0 and st["rebuilds"] > 1
    assert st["approx_pairs"] < 900 * 300  # lazy: fewer products than the reference's N * k


def test_conventions_first_pick_ties_and_lamda_one():
    x = clustered(30, 8, 1)
    pc = np.full(30, 0.3, dtype=np.float32)
    pc[[7, 12]] = 0.1  # two hardest, tied
    r = kgreedy_fast(x, pc, 5, 0.2)
    assert r.indices[0] == 7  # lowest predicted correctness, lowest index among ties
    assert math.isnan(r.max_similarity[0]) and r.cost[0] == 0.2 * np.float64(np.float32(0.1))
    # lamda = 1: the k smallest predicted correctness values, stable
    pc = np.random.default_rng(0).integers(0, 4, 30).astype(np.float32) / 4
    r1 = kgreedy_fast(x, pc, 30, 1.0)
    assert np.array_equal(r1.indices, np.argsort(pc, kind="stable"))
    # lamda = 0: pure diversity starts at row 0 (every first cost is 0)
    assert kgreedy_fast(x, pc, 3, 0.0).indices[0] == 0


def test_duplicates_are_picked_last_under_pure_diversity():
    base = clustered(10, 6, 3)
    x = np.concatenate([base, base])  # rows 10..19 duplicate 0..9
    pc = np.linspace(0.1, 0.9, 20).astype(np.float32)
    r = kgreedy_fast(x, pc, 20, 0.0)
    assert_same(kgreedy_reference(x, pc, 20, 0.0), r)
    # every row's duplicate has similarity 1 to it, so the first 10 picks contain no duplicate pair
    assert len({i % 10 for i in r.indices[:10]}) == 10


def test_memmap_float16_unnormalised_and_zero_rows(tmp_path):
    x = clustered(120, 12, 5, dup_frac=0.2, scale_rows=True)
    x[3] = 0.0  # a zero row: cosine 0 with everything
    pc = np.random.default_rng(5).random(120).astype(np.float32)
    path = tmp_path / "emb.npy"
    np.save(path, x)
    mm = np.load(path, mmap_mode="r")
    for lam in (0.2, 0.5):
        ref = kgreedy_reference(x, pc, 60, lam)
        assert_same(ref, kgreedy_fast(mm, pc, 60, lam, block_rows=16))
        assert_same(ref, kgreedy_torch(mm, pc, 60, lam, device="cpu"))
    # a power-of-two row scale leaves the canonical rows, hence the selection, exactly unchanged
    double = (x * np.float32(2.0)).astype(np.float32)
    assert_same(kgreedy_reference(x, pc, 40, 0.2), kgreedy_fast(double, pc, 40, 0.2))
    f16 = x.astype(np.float16)
    assert_same(kgreedy_reference(f16, pc, 50, 0.2), kgreedy_fast(f16, pc, 50, 0.2))


def test_canonical_similarity_is_exact_symmetric_and_batch_independent():
    rng = np.random.default_rng(0)
    for d in (1, 7, 384, 2560):
        s = exact.canon_bits(d)
        assert d * 4**s <= 2**53 and (s == 24 or d * 4 ** (s + 1) > 2**53)
        x = rng.standard_normal((9, d)).astype(np.float32)
        x[4] = x[2]
        m, inv = exact.canonicalize(x, s)
        assert np.all(np.abs(m) <= 2**s) and np.array_equal(m, np.rint(m))
        full = exact.canonical_sims(m, inv, m, inv)
        assert np.array_equal(full, full.T)  # bit-exact symmetry
        assert full[2, 4] == full[2, 2]
        # row by row, in other batches, through float32 storage: the same bits
        for i in range(9):
            mi, invi = exact.canonicalize(x[i : i + 1], s)
            assert np.array_equal(exact.canonical_sims(mi, invi, m[::-1], inv[::-1])[0], full[i, ::-1])
        # close to the float64 cosine of the raw rows, within the documented bound
        b = exact.compute_row_bounds(x, s)
        xd = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
        assert np.all(np.abs(full - xd @ xd.T) <= b.r[:, None] + b.r[None, :] + 1e-12)


def test_approximate_bounds_hold():
    """float32 similarities of every engine stay within the bound the selectors rely on."""
    x = clustered(300, 2560, 9, dup_frac=0.1)
    s = exact.canon_bits(2560)
    b = exact.compute_row_bounds(x, s, block_rows=64)
    m, inv = exact.canonicalize(x, s)
    canon = exact.canonical_sims(m, inv, m, inv)
    for chunk in (None, 640):
        g = np.zeros((300, 300))
        c = 2560 if chunk is None else chunk
        for c0 in range(0, 2560, c):
            g += x[:, c0 : c0 + c] @ x[:, c0 : c0 + c].T
        approx = g * b.inv[:, None] * b.inv[None, :]
        eps = exact.base_eps(2560, exact.gemm_error(2560, chunk)) + b.r[:, None] + b.r[None, :]
        assert np.all(np.abs(approx - canon) <= eps)
        assert np.abs(approx - canon).max() < eps.min() / 20  # and the bound is not absurdly loose


def test_input_validation():
    x = clustered(10, 4, 0)
    d = np.zeros(10, np.float32)
    with pytest.raises(ValueError):
        kgreedy_fast(x, d, 11, 0.2)
    with pytest.raises(ValueError):
        kgreedy_fast(x, d, 0, 0.2)
    with pytest.raises(ValueError):
        kgreedy_reference(x, d, 3, 1.5)
    with pytest.raises(ValueError):
        kgreedy_reference(x, np.full(10, np.nan, np.float32), 3, 0.2)
    with pytest.raises(ValueError):
        kgreedy_fast(x, d[:5], 3, 0.2)


def test_sketch_basis_is_orthonormal_and_capped():
    from ddcf.select.kgreedy.lazy_state import sketch_basis

    x = clustered(600, 160, 3)
    p = sketch_basis(x, 32, 4096)
    assert p.shape == (160, 32) and p.dtype == np.float32
    assert np.allclose(p.T @ p, np.eye(32), atol=1e-4)
    assert sketch_basis(x[:, :48], 32, 4096).shape == (48, 12)  # capped at d / 4
    assert sketch_basis(x[:, :12], 32, 4096) is None  # < 4 dims left: no probes


@pytest.mark.parametrize("lamda", (0.0, 0.2))
def test_a_bad_sketch_costs_time_but_never_changes_the_selection(monkeypatch, lamda):
    """The sketch only chooses which pick a probe tries: with a useless random basis the
    probes mostly fail, but the picks are still the reference's, bit for bit."""
    import ddcf.select.kgreedy.lazy_state as kg  # where LazyState.start looks the sketch up

    x = clustered(900, 64, 5, dup_frac=0.05)
    pc = np.random.default_rng(5).beta(2, 2, 900).astype(np.float32)
    ref = kgreedy_reference(x, pc, 250, lamda)
    good = kgreedy_fast(x, pc, 250, lamda)
    rng = np.random.default_rng(0)
    monkeypatch.setattr(kg, "sketch_basis", lambda x_, q, s: rng.standard_normal((x_.shape[1], 4)).astype(np.float32))
    bad = kgreedy_fast(x, pc, 250, lamda)
    assert_same(ref, good)
    assert_same(ref, bad)
    assert good.stats["probe_rows"] > 0 and bad.stats["probe_rows"] > 0
    assert good.stats["bound_violations"] == 0 and bad.stats["bound_violations"] == 0
    assert good.stats["probe_success"] > bad.stats["probe_success"]


def test_floor_and_signed_differ_where_cosines_are_negative_and_each_is_its_own_oracle():
    """Isotropic rows (half the cosines negative): the floor changes the picks, each mode equals its oracle,
    and the floored costs are lamda * p + (1 - lamda) * max(0, max sim) of the reported (signed) max sim."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((120, 8)).astype(np.float32)
    pc = rng.random(120).astype(np.float32)
    lam = 0.2
    runs = {}
    for red in REDUNDANCY:
        picks, costs, msims = oracle(x, pc, 60, lam, red)
        ref = kgreedy_reference(x, pc, 60, lam, redundancy=red)
        assert np.array_equal(ref.indices, picks) and np.array_equal(ref.cost, costs)
        assert np.array_equal(ref.max_similarity, msims, equal_nan=True)
        assert_same(ref, kgreedy_fast(x, pc, 60, lam, redundancy=red))
        assert_same(ref, kgreedy_torch(x, pc, 60, lam, redundancy=red, device="cpu"))
        assert ref.stats["redundancy"] == red
        runs[red] = ref
    floor, signed = runs["floor"], runs["signed"]
    assert not np.array_equal(floor.indices, signed.indices)
    assert np.nanmin(floor.max_similarity) < 0  # the reported similarity stays signed ...
    a = lam * pc[floor.indices].astype(np.float64)
    expect = a + (1 - lam) * np.maximum(np.nan_to_num(floor.max_similarity, nan=0.0), 0.0)
    assert np.array_equal(floor.cost, expect)  # ... while the cost uses max(0, .)
    assert kgreedy_fast(x, pc, 60, lam).stats["redundancy"] == "floor"  # the default
    with pytest.raises(ValueError):
        kgreedy_fast(x, pc, 5, lam, redundancy="clip")
