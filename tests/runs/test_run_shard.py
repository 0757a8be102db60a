"""One generate_shard for every stage, and run_shard: the unit of work another process can run (issue 24)."""

from __future__ import annotations

import multiprocessing as mp

import pandas as pd

from ddcf.generate.completions import GenerateRecipe
from ddcf.generate.config import GenerateConfig
from ddcf.runs.backends import BackendOptions, create_backend
from ddcf.runs.folder import ShardPlan, open_run, read_shards
from ddcf.runs.shard import SHARD_COLUMNS, ShardTask, generate_shard, run_shard, run_shards

MODEL = "dummy/model-a"
QUESTIONS = pd.DataFrame({
    "question_id": [f"q{i}" for i in range(5)],
    "dataset": ["gsm8k", "math", "gsm8k", "math", "gsm8k"],
    "question": [f"What is {i} + {i * 3}?" for i in range(5)],
    "gold": [str(i * 4) for i in range(5)],
})


def config(**kw):
    return GenerateConfig(model_name=MODEL, backend="dummy", max_new_tokens=200, no_progress=True, **kw)


def backend():
    return create_backend("dummy", MODEL, BackendOptions())


def tasks(folder, cfg, settings):
    plan = ShardPlan(tuple(QUESTIONS["question_id"]), 2)
    return [ShardTask(str(folder), settings, i, QUESTIONS.iloc[slice(*plan.bounds(i))], plan.ids(i), (),
                      {"model": MODEL}) for i in range(plan.n_shards)]


def _worker(task: ShardTask, cfg: GenerateConfig, out) -> None:
    out.put(str(run_shard(backend(), GenerateRecipe(cfg), task)))


def test_generate_shard_rows_and_stats():
    cfg = config(temperature=0.7, n=2, seed=3, prompt_style="ddcf")
    df, stats = generate_shard(backend(), QUESTIONS, GenerateRecipe(cfg))
    assert list(df.columns) == SHARD_COLUMNS and len(df) == 10
    assert df["sample"].tolist() == [0, 1] * 5
    assert stats["generated_tokens"] == int(df["completion_tokens"].sum() + df["followup_tokens"].sum())
    assert stats["n_followups"] == int(df["followup"].sum()) and stats["prompt_tokens"] > 0
    again, _ = generate_shard(backend(), QUESTIONS, GenerateRecipe(cfg))
    pd.testing.assert_frame_equal(df, again)  # per-question seeds: the same rows every time


def test_run_shard_in_another_process_writes_what_the_local_loop_writes(tmp_path):
    cfg = config()
    settings = {"model": MODEL, "case": "spawn"}
    local = open_run(tmp_path / "local", settings)
    n = run_shards(tasks(local.path, cfg, settings), backend, GenerateRecipe(cfg), desc="t", progress=False)
    assert n == 3

    remote = open_run(tmp_path / "remote", settings)
    ctx = mp.get_context("spawn")  # a fresh interpreter, as a Ray worker is: only plain data crosses
    out = ctx.Queue()
    for task in tasks(remote.path, cfg, settings):
        p = ctx.Process(target=_worker, args=(task, cfg, out))
        p.start()
        p.join(120)
        assert p.exitcode == 0
        assert out.get(timeout=5).endswith(f"shard-{task.index:05d}.parquet")
    plan = ShardPlan(tuple(QUESTIONS["question_id"]), 2)
    for i in range(plan.n_shards):
        assert remote.shard_done(i, plan.ids_hash(i), len(plan.ids(i)))  # the marker a resume reads
    pd.testing.assert_frame_equal(read_shards(local.path, 3), read_shards(remote.path, 3))


def test_run_shard_merges_a_partial_shard(tmp_path):
    cfg = config()
    settings = {"model": MODEL}
    run = open_run(tmp_path, settings)
    ids = tuple(QUESTIONS["question_id"][:2])
    first = ShardTask(str(tmp_path), settings, 0, QUESTIONS.iloc[1:2], ids, (), {})
    run_shard(backend(), GenerateRecipe(cfg), first)
    held = run.held_ids(0, ids)
    assert held == ("q1",)
    rest = ShardTask(str(tmp_path), settings, 0, QUESTIONS.iloc[0:1], ids, held, {})
    run_shard(backend(), GenerateRecipe(cfg), rest)
    assert run.shard_done(0, ShardPlan(ids, 2).ids_hash(0), 2)
    whole, _ = generate_shard(backend(), QUESTIONS.iloc[:2], GenerateRecipe(cfg))
    pd.testing.assert_frame_equal(run.read_shards([0]), whole)
