"""The sharded k-greedy (issue 24) picks exactly what the single-device engines pick, for any number of shards.

"Exactly": same rows in the same order, same costs and same max similarities, bit for bit
(``KGreedyResult.same_selection``), on random rows with duplicates placed across shard boundaries (ties, which
must go to the lowest global row index) and on 1,988 real rows (the bundled MiniLM vectors of
test_kgreedy_released.py, 3.9 % negative cosines, so "floor" and "signed" differ).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ddcf.bundled.files import BUNDLED_DIR, EMBED_CACHE_DIR
from ddcf.embed.cache import EmbeddingCache
from ddcf.io import text_hash
from ddcf.select.kgreedy.reference import kgreedy_reference
from ddcf.select.kgreedy.sharded import (
    Candidate,
    kgreedy_sharded,
    reduce_candidates,
    shard_bounds,
    shard_bytes,
)

REAL = Path(__file__).parent / "data" / "reference_kgreedy_picks.json"

LAMDAS = (0.0, 0.2, 0.5)
REDUNDANCY = ("floor", "signed")


def _random(n=600, d=24, seed=0, ties=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    p = rng.random(n).astype(np.float32)
    # exact duplicates (rows and correctness) in different shards for every S in 2..4: exact cost ties
    if not ties:
        return x, p
    for src, dups in ((5, (149, 150, 151, 299, 300, 450, 599)), (3, (200, 201, 400, 401))):
        x[list(dups)] = x[src]
        p[list(dups)] = p[src]
    p[[10, 160, 310, 460]] = p.min()  # tied first picks, one per shard
    return x, p


@pytest.fixture(scope="module")
def released_input():
    """The 1,988 real rows of test_kgreedy_released.py (every 8th bundled corpus question, first occurrence of each
    text, its shipped MiniLM vector) and the predicted correctness stored with them."""
    ref = json.loads(REAL.read_text())
    corpus = pd.read_parquet(BUNDLED_DIR / "corpus.parquet", columns=["question_id", "question"]).iloc[::8]
    corpus = corpus[~corpus["question"].duplicated()]
    assert corpus["question_id"].astype(str).tolist() == ref["question_ids"], "the bundled corpus changed"
    cache = EmbeddingCache(EMBED_CACHE_DIR, "packaged:all-MiniLM-L6-v2", quarantine=False)
    x = cache.gather([text_hash(q) for q in corpus["question"]])
    return x, np.asarray(ref["predicted_correctness"], dtype=np.float32), None


@pytest.fixture(scope="module")
def random_input():
    return _random()


@pytest.mark.parametrize("shards", (1, 2, 3, 4))
@pytest.mark.parametrize("lamda", LAMDAS)
@pytest.mark.parametrize("redundancy", REDUNDANCY)
def test_torch_shards_equal_single_device_on_random_rows_with_ties(random_input, shards, lamda, redundancy):
    x, p = random_input
    want = kgreedy_reference(x, p, 80, lamda, redundancy=redundancy)
    got = kgreedy_sharded(x, p, 80, lamda, redundancy=redundancy, devices=["cpu"] * shards)
    assert got.same_selection(want)
    assert got.stats["shards"] == shards and sum(got.stats["rows_per_shard"]) == len(x)


@pytest.mark.parametrize("shards", (1, 2, 3, 4))
@pytest.mark.parametrize("lamda", LAMDAS)
@pytest.mark.parametrize("redundancy", REDUNDANCY)
def test_torch_shards_equal_single_device_on_real_rows(released_input, shards, lamda, redundancy):
    x, p, _ = released_input
    want = kgreedy_reference(x, p, 120, lamda, redundancy=redundancy)
    got = kgreedy_sharded(x, p, 120, lamda, redundancy=redundancy, devices=["cpu"] * shards)
    assert got.same_selection(want)


def test_the_real_input_separates_the_redundancies(released_input):  # else "both modes" tests little
    x, p, _ = released_input
    floor = kgreedy_sharded(x, p, 50, 0.2, devices=["cpu", "cpu"])
    signed = kgreedy_sharded(x, p, 50, 0.2, redundancy="signed", devices=["cpu", "cpu"])
    assert not np.array_equal(floor.indices, signed.indices)


@pytest.mark.parametrize("shards", (1, 2, 3, 4))
@pytest.mark.parametrize("redundancy", REDUNDANCY)
def test_process_shards_equal_single_device(random_input, shards, redundancy):
    x, p = random_input
    for lamda in LAMDAS:
        want = kgreedy_reference(x, p, 60, lamda, redundancy=redundancy)
        got = kgreedy_sharded(x, p, 60, lamda, redundancy=redundancy, processes=shards)
        assert got.same_selection(want), (lamda, shards)


def test_process_shards_on_real_rows(released_input):
    x, p, _ = released_input
    for lamda, redundancy in ((0.0, "signed"), (0.2, "floor"), (0.5, "floor")):
        want = kgreedy_reference(x, p, 100, lamda, redundancy=redundancy)
        assert kgreedy_sharded(x, p, 100, lamda, redundancy=redundancy, processes=3).same_selection(want)


def test_processes_map_a_memmapped_file_and_a_slice_of_it(tmp_path, random_input):
    """The workers open the .npy themselves (no shared-memory copy); a slice starting at row 7 must map row 7."""
    x, p = random_input
    np.save(tmp_path / "x.npy", x)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    for arr, pp in ((mm, p), (mm[7:], p[7:])):
        want = kgreedy_reference(np.asarray(arr), pp, 40, 0.2)
        assert kgreedy_sharded(arr, pp, 40, 0.2, processes=3).same_selection(want)


def test_lamda_one_and_k_equal_n():
    x, p = _random(n=40, d=8, seed=3, ties=False)
    x[[9, 25, 33]] = x[2]  # ties in the second and third of three shards
    for lamda in (1.0, 0.3):
        want = kgreedy_reference(x, p, 40, lamda)
        assert kgreedy_sharded(x, p, 40, lamda, devices=["cpu"] * 3).same_selection(want)
        assert kgreedy_sharded(x, p, 40, lamda, processes=2).same_selection(want)


def test_all_identical_rows_pick_in_row_order_across_shards():
    x = np.ones((30, 5), dtype=np.float32)
    p = np.full(30, 0.5, dtype=np.float32)
    got = kgreedy_sharded(x, p, 30, 0.2, devices=["cpu"] * 4)
    assert got.indices.tolist() == list(range(30))


def test_reduce_keeps_the_smallest_cost_then_the_lowest_index():
    row = np.zeros(2, dtype=np.float32)

    def cand(cost, index):
        return Candidate(cost, index, 0.0, row, 1.0, 0.0, 1)

    assert reduce_candidates([cand(0.5, 9), None, cand(0.5, 4), cand(0.6, 1)]).index == 4
    assert reduce_candidates([cand(0.5, 9), cand(0.4, 12)]).index == 12


def test_shard_bounds_and_bytes():
    assert shard_bounds(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert shard_bounds(5, 5) == [(i, i + 1) for i in range(5)]
    with pytest.raises(ValueError):
        shard_bounds(3, 4)
    # 10 M x 2,560 float32 over 8 shards: 1,250,000 rows x 10,240 bytes + 33 bytes of state per row + 1,000 picks
    assert shard_bytes(10_000_000, 2560, 8, 1000) == 1_250_000 * (2560 * 4 + 33) + 1000 * (2560 * 8 + 8)


def test_exactly_one_backend():
    x, p = _random(n=20, d=4, ties=False)
    with pytest.raises(ValueError, match="exactly one"):
        kgreedy_sharded(x, p, 3, 0.2)
    with pytest.raises(ValueError, match="exactly one"):
        kgreedy_sharded(x, p, 3, 0.2, devices=["cpu"], processes=2)


def test_in_process_single_shard_is_the_same_algorithm(random_input):
    x, p = random_input
    want = kgreedy_reference(x, p, 50, 0.2, redundancy="signed")
    got = kgreedy_sharded(x, p, 50, 0.2, redundancy="signed", processes=0)
    assert got.same_selection(want) and got.stats["shards"] == 1


def test_ddcf_select_with_shards_writes_the_same_selection(layout, tmp_path):
    """`ddcf select --kgreedy_shards 3` and `--kgreedy_devices cpu,cpu` write the default engine's selection."""
    from helpers_select import write_layout

    from ddcf.errors import DDCFError
    from ddcf.select.cli import main

    write_layout(layout, n=90, d=16)
    base = ["--workdir", str(layout.root), "--model_name", "org/Target-7B", "--no_progress", "--num_select", "12"]
    tables = {}
    for name, extra in (("one", []), ("procs", ["--kgreedy_shards", "3"]), ("devs", ["--kgreedy_devices", "cpu,cpu"])):
        assert main([*base, *extra, "--output_dir", str(tmp_path / name)]) == 0
        tables[name] = pd.read_parquet(tmp_path / name / "selection.parquet")
        report = json.loads((tmp_path / name / "report.json").read_text())
        assert report["engine"].startswith({"one": "fast", "procs": "sharded-processes[3]",
                                            "devs": "sharded-torch[cpu,cpu]"}[name]), report["engine"]
    for name in ("procs", "devs"):
        pd.testing.assert_frame_equal(tables[name][["question_id", "cost", "max_similarity"]],
                                      tables["one"][["question_id", "cost", "max_similarity"]])
    with pytest.raises((DDCFError, SystemExit)):
        main([*base, "--kgreedy_shards", "2", "--kgreedy_devices", "cpu", "--output_dir", str(tmp_path / "x")])


def test_too_little_shared_memory_is_refused_up_front(monkeypatch, random_input):
    import os

    from ddcf.errors import DDCFError

    class Full:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(os, "statvfs", lambda _: Full())
    x, p = random_input
    with pytest.raises(DDCFError, match="shared memory"):
        kgreedy_sharded(x, p, 5, 0.2, processes=2)
