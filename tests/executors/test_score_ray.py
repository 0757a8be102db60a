"""ddcf score --executor ray: a tiny local model held by each Ray worker scores the same blocks into the same
cache parts as the local path (byte-identical parts and scores.parquet); a worker killed mid-run costs its
block only, and the rerun writes each part once."""

import sys
from pathlib import Path

import pytest
from conftest import require_ray

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generate"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "select"))
from gen_testlib import build_tiny_lm
from helpers_select import write_layout

from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.layout import Layout
from ddcf.score.cli import main as score_main

pytestmark = require_ray


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return str(build_tiny_lm(tmp_path_factory.mktemp("tiny_lm")))


def _score(layout, model, *extra):
    return run_main(score_main, ["--workdir", str(layout.root), "--model_name", model, "--no_progress",
                                 "--backend", "hf", "--batch_size", "4", "--shard_size", "4", *extra])


def _parts(layout, model) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(layout.score_shards(model).glob("part-*.parquet"))}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, tiny_lm):
    layout = Layout(tmp_path_factory.mktemp("local") / "work")
    write_layout(layout, n=10, model=tiny_lm)
    assert _score(layout, tiny_lm) == 0
    return layout


def test_ray_scores_are_byte_identical(tmp_path, tiny_lm, local_run, ray_instance, capsys):
    layout = Layout(tmp_path / "work")
    write_layout(layout, n=10, model=tiny_lm)
    capsys.readouterr()
    assert _score(layout, tiny_lm, "--executor", "ray") == 0
    out = capsys.readouterr().out
    assert "scored now 10 (transformers on cpu)" in out and "executor ray: 3 of 3 shard(s)" in out
    assert _parts(layout, tiny_lm) == _parts(local_run, tiny_lm)  # the same 3 parts, same names, same bytes
    assert layout.scores(tiny_lm).read_bytes() == local_run.scores(tiny_lm).read_bytes()
    assert _score(layout, tiny_lm) == 0 and "scored now 0" in capsys.readouterr().out  # local finds it complete


def test_killed_worker_then_rerun_identical_and_no_part_twice(tmp_path, tiny_lm, local_run, ray_instance,
                                                              monkeypatch):
    from jobs_for_tests import DyingScoreJob, writes

    import ddcf.executors.ray as RX
    import ddcf.score.sharded as SH

    layout = Layout(tmp_path / "work")
    write_layout(layout, n=10, model=tiny_lm)
    log = tmp_path / "writes.log"
    monkeypatch.setattr(SH, "ScoreJob", lambda *a, **k: DyingScoreJob(*a, **k, die_on=1, log=str(log)))
    monkeypatch.setattr(RX, "MAX_RETRIES", 0)
    with pytest.raises(DDCFError, match=r"Shard 1 of scoring was lost with its Ray worker"):
        from ddcf.score.config import ScoreConfig
        from ddcf.score.stage import run

        run(layout, ScoreConfig(model_name=tiny_lm, backend="hf", batch_size=4, shard_size=4, no_progress=True,
                                executor="ray"))
    assert len(writes(log)) < 3
    assert _score(layout, tiny_lm, "--executor", "ray") == 0  # the rerun scores only the missing block(s)
    blocks = writes(log)
    assert len(blocks) == 3 and len(set(blocks)) == 3  # each part written exactly once
    assert layout.scores(tiny_lm).read_bytes() == local_run.scores(tiny_lm).read_bytes()
    # the parts hold the same bytes (a rerun numbers the remaining blocks after the finished ones)
    assert sorted(_parts(layout, tiny_lm).values()) == sorted(_parts(local_run, tiny_lm).values())
