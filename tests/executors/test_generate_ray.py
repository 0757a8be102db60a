"""Generation shards (the run toolkit's unit of work) on a real local Ray instance with the dummy backend:
the same rows and the same completion markers as the local loop, so either resumes the other."""

import pandas as pd
from conftest import require_ray

from ddcf.executors import LocalExecutor, get_executor
from ddcf.executors.jobs.generate import generate_with_executor
from ddcf.generate.completions import GenerateRecipe
from ddcf.generate.config import GenerateConfig
from ddcf.runs.backends import BackendOptions, create_backend
from ddcf.runs.folder import ShardPlan, open_run, read_shards
from ddcf.runs.shard import ShardTask, run_shards

pytestmark = require_ray
MODEL = "dummy/model-a"
QUESTIONS = pd.DataFrame({
    "question_id": [f"q{i}" for i in range(7)],
    "dataset": ["gsm8k", "math"] * 3 + ["gsm8k"],
    "question": [f"What is {i} + {i * 3}?" for i in range(7)],
    "gold": [str(i * 4) for i in range(7)],
})
PLAN = ShardPlan(tuple(QUESTIONS["question_id"]), 2)  # 4 shards, the last one short
SETTINGS = {"model": MODEL, "case": "ray"}


def _config():
    return GenerateConfig(model_name=MODEL, backend="dummy", max_new_tokens=64, no_progress=True, temperature=0.7,
                          n=2, seed=5, prompt_style="ddcf")


def _tasks(folder, which):
    return [ShardTask(str(folder), SETTINGS, i, QUESTIONS.iloc[slice(*PLAN.bounds(i))], PLAN.ids(i), (),
                      {"model": MODEL}) for i in which]


def test_ray_generation_matches_the_local_loop_and_resumes_it(tmp_path, ray_instance):
    cfg = _config()
    local = open_run(tmp_path / "local", SETTINGS)
    run_shards(_tasks(local.path, range(4)), lambda: create_backend("dummy", MODEL, BackendOptions()),
               GenerateRecipe(cfg), desc="t", progress=False)

    remote = open_run(tmp_path / "remote", SETTINGS)
    generate_with_executor(LocalExecutor(), _tasks(remote.path, [0]), GenerateRecipe(cfg), cfg, MODEL, "dummy",
                           progress=False)  # a local run that stopped after shard 0
    pending = [i for i in range(4) if not remote.shard_done(i, PLAN.ids_hash(i), 2 * len(PLAN.ids(i)))]
    assert pending == [1, 2, 3]
    s = generate_with_executor(get_executor("ray"), _tasks(remote.path, pending), GenerateRecipe(cfg), cfg, MODEL,
                               "dummy", progress=False)
    assert s.n_computed == 3 and sum(d["items"] for d in s.per_node().values()) == 5
    assert all(remote.shard_done(i, PLAN.ids_hash(i), 2 * len(PLAN.ids(i))) for i in range(4))
    pd.testing.assert_frame_equal(read_shards(local.path, 4), read_shards(remote.path, 4))
