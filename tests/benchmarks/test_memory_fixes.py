"""The memory fixes of issue 25 change no result, and the memory/sharding benchmarks run (their --quick modes)."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from ddcf.artifacts.embeddings import unit_rows
from ddcf.select.methods import ds2

ROOT = Path(__file__).resolve().parents[2]


def _rows(n=300, d=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    x[[40, 41, 250]] = x[7]  # equal distances: the order must still be self, distance, row
    return x


def test_ds2_neighbour_search_in_small_blocks_is_unchanged(monkeypatch):
    u = unit_rows(_rows())
    want = ds2.neighbour_lists(u, 25, show=False)
    monkeypatch.setattr(ds2, "BLOCK_BYTES", 12 * len(u) * 16)  # 16-row blocks, as at 189k rows with the budget
    got = ds2.neighbour_lists(u, 25, show=False)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_ds2_unit_rows_built_blockwise_are_bit_identical():
    x = _rows(n=1000)
    rows = np.sort(np.random.default_rng(1).choice(1000, 700, replace=False))
    assert np.array_equal(ds2._unit_rows_blocked(x, rows, block=64), unit_rows(x, rows))


def test_peak_rss_reads_the_kernel_high_water_mark(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_memory import peak_rss

    grow = [sys.executable, "-c",
            "import time, numpy as np; a = np.ones(200 * 2**20 // 8); time.sleep(1); print(a.sum())"]
    status, mb, _ = peak_rss(grow, timeout=60, max_rss_gb=8, log=tmp_path / "a.log")
    assert status == "ok" and 200 < mb < 600
    status, _, _ = peak_rss(grow, timeout=60, max_rss_gb=0.05, log=tmp_path / "b.log")
    assert status.startswith("killed")


def test_sharded_benchmark_quick_mode_runs_and_checks_identity():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_kgreedy_sharded.py"), "--quick",
                          "--shards", "2"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "2 processes" in out.stdout and "yes (all" in out.stdout and "S =   8:" in out.stdout


def test_memory_baseline_must_be_a_checkout_and_runs_from_inside_it(tmp_path, capsys):
    """`python -m` puts the working folder before PYTHONPATH: the baseline runs from inside its checkout (run from
    this repository's root it would import this code again), and a folder that is no checkout is refused."""
    import pytest

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_memory import main, peak_rss

    with pytest.raises(SystemExit):
        main(["--baseline", str(tmp_path), "--quick"])
    assert "not a checkout of ddcf" in capsys.readouterr().err
    fake = tmp_path / "other"
    (fake / "ddcf").mkdir(parents=True)
    (fake / "ddcf" / "__init__.py").write_text("")
    where = [sys.executable, "-c", "import ddcf; print(ddcf.__file__)"]
    status, _, _ = peak_rss(where, timeout=60, max_rss_gb=8, log=tmp_path / "w.log",
                            env={"PYTHONPATH": str(fake), "PATH": ""}, cwd=fake)
    assert status == "ok" and (tmp_path / "w.log").read_text().strip() == str(fake / "ddcf" / "__init__.py")
