"""``--method disf`` default (batched) against the released DiSF selector's own picks.

How ``data/disf_released.json`` was produced (outside ddcf, nothing of it is in this repository):

* code: MediaBrain-SJTU/DiSF, commit c17a3c2eb32cb3722b47e5994dd89b812d7543d8, ``DISF/select_disf.py``:
  ``select`` (the per-process driver) and ``hunger_select`` (the per-batch greedy), float32 as released.
* two textual patches, neither touching the selection: the import ``from create_datasets import
  Dataset_jsonlzst,`` loses its trailing comma (a SyntaxError as released; ``create_datasets``, jsonl.zst
  reading, is stubbed) and the device string ``"cuda:"+str(device_id)`` becomes ``"cpu"`` (no GPU there).
* input: :func:`fixture_matrix` (3000, 64) below, float32.
* command (one process, /work/main/.venv/bin/python, torch 2.13 CPU)::

      random.seed(7)
      select(x, 0, 2999, batch_size=1024, top_k=16, n_devices=1, process_id=0, ...)   # rows 0..2047
      hunger_select(x[2048:3000], top_k=15, batch_size=952)                           # + 2048

  ``select`` visits full batches only (its 1024 x 16 defaults: ``batchsize`` 512 x ``scale`` 2, ``top_k`` 8 x
  ``scale``); the tail call is ddcf's third batch for k = 47 (budgets 16, 16, 15).  ``random.randint`` was
  wrapped to record its three draws (``randint_calls``: low, high, value).
* ``data/disf_released_injected.json``: the same run with ``random.randint`` returning 0, 1023, 951 in turn
  (the extreme rows of each batch) instead of drawing.

The released loop took 8 minutes for these 47 picks; ddcf's closed form takes ~1 s.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from ddcf.select.methods import disf

DATA = Path(__file__).parent / "data"


def fixture_matrix(n: int, d: int) -> np.ndarray:
    """Portable seeded input: splitmix64 of the flat index -> a 24-bit uniform in [-1, 1), exact in float32."""
    z = np.arange(n * d, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    v = (z >> np.uint64(40)).astype(np.float64) / float(1 << 23) - 1.0
    return v.reshape(n, d).astype(np.float32)


def released(name: str = "disf_released.json") -> dict:
    return json.loads((DATA / name).read_text())


def test_fixture_input_is_the_one_the_released_code_saw():
    x = fixture_matrix(3000, 64)
    assert x.dtype == np.float32 and x.shape == (3000, 64) and np.all(np.abs(x) <= 1)
    # spot values: a changed generator would silently test another input
    assert x[0, :3].tolist() == pytest.approx([0.7666215896606445, 0.13312304019927979, 0.1823793649673462])


def test_default_batched_picks_equal_the_released_picks():
    ref = released()
    x = fixture_matrix(3000, 64)
    plan = disf.batch_plan(3000, 47)
    assert plan == [(0, 1024, 16), (1024, 2048, 16), (2048, 3000, 15)]
    # --seed 7 draws what the released code drew after random.seed(7): same rule, same generator
    assert disf.first_picks(plan, 7) == [c[2] for c in ref["randint_calls"]]
    assert [c[:2] for c in ref["randint_calls"]] == [[0, 1023], [0, 1023], [0, 951]]
    rows, cost = disf.disf_batched(x, 47, seed=7)
    assert rows.tolist() == ref["picks_full_batches"] + ref["picks_tail_batch"]
    # the same picks when the first picks are injected instead of drawn
    injected, _ = disf.disf_batched(x, 47, seed=0, first=[c[2] for c in ref["randint_calls"]])
    assert np.array_equal(injected, rows)
    assert np.isnan(cost[[0, 16, 32]]).all() and np.isfinite(np.delete(cost, [0, 16, 32])).all()


def test_injected_first_picks_equal_the_released_picks():
    ref = released("disf_released_injected.json")
    first = [c[2] for c in ref["randint_calls"]]
    assert first == [0, 1023, 951]
    rows, _ = disf.disf_batched(fixture_matrix(3000, 64), 47, first=first)
    assert rows.tolist() == ref["picks_full_batches"] + ref["picks_tail_batch"]


def test_fast_batched_greedy_equals_the_straightforward_loop():
    x = fixture_matrix(300, 12) * np.linspace(0.1, 3.0, 12, dtype=np.float32)  # unequal scales per dimension
    x[40] = x[41]  # a duplicate: an exact tie the earliest row must win
    for k, batch in ((30, 100), (61, 128), (120, 50)):  # 120 of 300: picks per batch > dims, the d x d path
        fast, fcost = disf.disf_batched(x, k, batch, seed=3)
        ref, rcost = disf.batched_reference(x, k, batch, seed=3)
        assert np.array_equal(fast, ref)
        finite = np.isfinite(rcost)
        assert np.array_equal(finite, np.isfinite(fcost))
        assert np.allclose(fcost[finite], rcost[finite], rtol=1e-9, atol=1e-9)


def test_cost_is_the_off_diagonal_correlation_of_the_batch_picks():
    x = fixture_matrix(200, 8)
    rows, cost = disf.disf_batched(x, 10, batch=200, seed=1)
    for t in range(1, 10):
        assert cost[t] == pytest.approx(disf.off_diagonal_correlation(x[rows[:t + 1]]), rel=1e-9)
    # the definition: squared correlations summed off the diagonal
    c = np.corrcoef(x[rows].astype(np.float64), rowvar=False)
    assert disf.off_diagonal_correlation(x[rows]) == pytest.approx(np.sum(c * c) - 8, rel=1e-6)


def test_batch_plan_splits_k_in_proportion_and_exactly():
    for n, k, b in ((3000, 47, 1024), (10, 10, 3), (5000, 1, 1024), (2048, 32, 1024), (7, 3, 100)):
        plan = disf.batch_plan(n, k, b)
        assert sum(p for _, _, p in plan) == k and plan[-1][1] == n
        assert all(0 <= p <= stop - start for start, stop, p in plan)
    assert disf.batch_plan(2048, 32, 1024) == [(0, 1024, 16), (1024, 2048, 16)]  # the released 16 per 1,024
    rows, _ = disf.disf_batched(fixture_matrix(5000, 4), 1, seed=5)
    assert len(rows) == 1  # batches without a budget draw nothing and pick nothing


def test_batched_is_deterministic_given_the_seed_and_moves_with_it():
    x = fixture_matrix(600, 6)
    a, _ = disf.disf_batched(x, 20, 200, seed=11)
    assert np.array_equal(a, disf.disf_batched(x, 20, 200, seed=11)[0])
    assert not np.array_equal(a, disf.disf_batched(x, 20, 200, seed=12)[0])
    assert len(set(a.tolist())) == 20


def test_select_runs_both_modes_and_names_their_folders():
    from types import SimpleNamespace

    from ddcf.select.methods import get_method
    from ddcf.select.methods.common import Context

    x = fixture_matrix(500, 8)
    for mode, tag in (("batched", "batch100_seed3"), ("whole_pool", "whole_pool")):
        cfg = SimpleNamespace(disf_mode=mode, disf_batch=100, seed=3, device="cpu")
        picks = disf.select(Context(layout=None, config=cfg, pool=SimpleNamespace(x=x), k=12))
        assert len(set(picks.indices.tolist())) == 12 and get_method("disf").folder_tag(cfg) == tag
        want = disf.disf_batched(x, 12, 100, 3)[0] if mode == "batched" else disf.disf_fast(x, 12)[0]
        assert np.array_equal(picks.indices, want)


def test_non_finite_rows_are_picked_last_and_never_twice():
    x = fixture_matrix(30, 5).astype(np.float64)
    x[[2, 7]] = np.nan
    for greedy in (disf.disf_batched, disf.batched_reference):
        rows, _ = greedy(x, 30, 30, 0, first=[0])
        assert sorted(rows.tolist()) == list(range(30)) and set(rows[-2:].tolist()) == {2, 7}
