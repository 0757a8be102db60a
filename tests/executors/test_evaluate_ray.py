"""ddcf evaluate --executor ray: the benchmark shards (the same run-toolkit unit as generation) on Ray workers
with the dummy engine give the local path's predictions and results."""

import sys
from pathlib import Path

import pandas as pd
from conftest import require_ray

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evaluate"))
from eval_testlib import eval_config

from ddcf.evaluate.stage import run

pytestmark = require_ray


def test_ray_evaluation_matches_the_local_path(tmp_path, layout, ray_instance):
    opts = dict(benchmarks=["gsm8k", "math500"], n=2, temperature=0.7, limit=3, shard_size=2)
    local = run(layout, eval_config(tmp_path / "local", **opts), log=lambda m: None).details
    lines = []
    remote = run(layout, eval_config(tmp_path / "ray", executor="ray", **opts), log=lines.append).details
    assert any(m.startswith("executor ray: 2 of 2 shard(s) computed now") for m in lines)
    pd.testing.assert_frame_equal(local["predictions"], remote["predictions"])
    assert local["results"]["benchmarks"] == remote["results"]["benchmarks"]
    settings = [{k: v for k, v in r["results"]["settings"].items() if k != "output_dir"} for r in (local, remote)]
    assert settings[0] == settings[1] and "executor" not in settings[0]  # where shards run is not a setting
