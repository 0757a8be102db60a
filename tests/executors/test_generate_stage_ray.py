"""infer.py / ddcf generate --executor ray: the whole stage (plan, shards on Ray workers, verification) with the
dummy backend and a tiny local transformers model gives the local path's shards and verdicts; a worker killed
mid-run costs its shard only, and the rerun writes each shard once."""

import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import require_ray

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generate"))
from gen_testlib import build_tiny_lm, fake_grade, seed_frame, settings_for

from ddcf.errors import DDCFError
from ddcf.generate import runner as R
from ddcf.io import write_parquet
from ddcf.layout import Layout
from ddcf.runs.folder import read_shards, shard_metadata

pytestmark = require_ray
DUMMY = "dummy/model-a"


def _layout(root: Path) -> Layout:
    layout = Layout(root)
    write_parquet(seed_frame(), layout.seed_questions)
    return layout


def _dummy(**kw):
    return settings_for(DUMMY, backend="dummy", max_new_tokens=48, n=2, temperature=0.7, seed=3, **kw)


def _outputs(layout: Layout, model: str):
    """The shards' rows (their metadata holds times) and the verdict table."""
    gen_dir = layout.generations(model)
    n = len(list(gen_dir.glob("shard-*.parquet")))
    return read_shards(gen_dir, n), pd.read_parquet(layout.verdicts(model)), n


def _same(a, b):
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert a[2] == b[2]


def _run(layout, config, **kw):
    return R.run_generation(layout, config, grade_fn=fake_grade, log=lambda m: None, **kw)


def test_dummy_backend_on_ray_matches_the_local_path(tmp_path, ray_instance):
    local, remote = _layout(tmp_path / "local"), _layout(tmp_path / "ray")
    here = _run(local, _dummy())
    assert here.status == "done"
    lines = []
    res = R.run_generation(remote, _dummy(executor="ray"), grade_fn=fake_grade, log=lines.append)
    assert res.status == "done" and any(m.startswith("executor ray: 3 of 3 shard(s)") for m in lines)
    _same(_outputs(local, DUMMY), _outputs(remote, DUMMY))
    # the workers' engine info reaches the shards and the summary, as the local path's does
    assert res.summary["backend_info"] == here.summary["backend_info"] == {"backend": "dummy", "tokenizer": "bytes"}
    assert (shard_metadata(remote.generations(DUMMY), [2])[0]["backend"]
            == shard_metadata(local.generations(DUMMY), [2])[0]["backend"])
    # and a local rerun finds the Ray run complete
    assert _run(remote, _dummy()).status == "skipped"


def test_tiny_local_model_on_ray_matches_the_local_path(tmp_path, ray_instance):
    lm = str(build_tiny_lm(tmp_path / "tiny_lm"))
    local, remote = _layout(tmp_path / "local"), _layout(tmp_path / "ray")
    assert _run(local, settings_for(lm)).status == "done"
    assert _run(remote, settings_for(lm, executor="ray")).status == "done"
    _same(_outputs(local, lm), _outputs(remote, lm))


def test_killed_worker_then_rerun_identical_and_no_shard_twice(tmp_path, ray_instance, monkeypatch):
    from jobs_for_tests import DyingGenerationJob, writes

    import ddcf.executors.jobs.generate as G
    import ddcf.executors.ray as RX

    local, remote = _layout(tmp_path / "local"), _layout(tmp_path / "ray")
    assert _run(local, _dummy()).status == "done"
    log = tmp_path / "writes.log"
    monkeypatch.setattr(G, "GenerationJob", lambda *a, **k: DyingGenerationJob(*a, **k, die_on=1, log=str(log)))
    monkeypatch.setattr(RX, "MAX_RETRIES", 0)  # the lost shard is not retried: the run stops
    with pytest.raises(DDCFError, match=r"Shard 1 of generation was lost with its Ray worker"):
        _run(remote, _dummy(executor="ray"))
    first = writes(log)
    assert "1" not in first and len(first) < 3
    assert _run(remote, _dummy(executor="ray")).status == "done"  # the rerun: only the unfinished shards
    assert sorted(writes(log)) == ["0", "1", "2"]  # each shard written exactly once
    _same(_outputs(local, DUMMY), _outputs(remote, DUMMY))
