"""The one resume check (ddcf.runs.folder.open_run) and the shard store it guards."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ddcf.errors import DDCFError
from ddcf.runs.folder import RunFolder, ShardPlan, open_run, run_lock, settings_sha256

SETTINGS = {"model": "m", "sampling": {"temperature": 0.0, "n": 1}, "shard_size": 2, "n_questions": 4}


def rows(ids, n=1):
    return pd.DataFrame({"question_id": [q for q in ids for _ in range(n)],
                         "sample": [s for _ in ids for s in range(n)], "x": range(len(ids) * n)})


def test_new_folder_writes_its_settings_and_hash(tmp_path):
    run = open_run(tmp_path / "r", SETTINGS, info={"backend": "dummy"})
    cfg = json.loads((tmp_path / "r" / "run_config.json").read_text())
    assert cfg["config_sha256"] == run.sha == settings_sha256(SETTINGS)
    assert cfg["info"] == {"backend": "dummy"} and cfg["model"] == "m" and run.kept == 0


def test_same_settings_resume_and_count_finished_shards(tmp_path):
    run = open_run(tmp_path, SETTINGS)
    plan = ShardPlan(("a", "b", "c", "d"), 2)
    run.write_shard(0, rows(plan.ids(0)))
    again = open_run(tmp_path, dict(SETTINGS))
    assert again.kept == 1
    assert again.shard_done(0, plan.ids_hash(0), 2) and not again.shard_done(1, plan.ids_hash(1), 2)
    assert not again.shard_done(0, plan.ids_hash(0), 3)  # another row count (another n) is not this shard


def test_other_settings_are_refused_naming_them(tmp_path):
    run = open_run(tmp_path, SETTINGS)
    run.write_shard(0, rows(("a", "b")))
    other = {**SETTINGS, "sampling": {"temperature": 0.6, "n": 1}}
    with pytest.raises(DDCFError) as ei:
        open_run(tmp_path, other, what="completions", alternatives="pass another --output_dir",
                 hints={"sampling": " (a hint)"})
    msg = str(ei.value)
    assert "sampling.temperature: 0.0 -> 0.6" in msg and "(a hint)" in msg and "--overwrite" in msg
    assert "1 finished shard(s) are kept" in msg and "another --output_dir" in msg
    assert (tmp_path / "shard-00000.parquet").exists()  # refused: nothing deleted


def test_explain_gives_a_stage_its_own_message(tmp_path):
    open_run(tmp_path, SETTINGS)
    with pytest.raises(DDCFError, match="own words"):
        open_run(tmp_path, {**SETTINGS, "model": "z"}, explain=lambda old, new, kept: DDCFError("own words", "x"))


def test_overwrite_starts_over(tmp_path):
    run = open_run(tmp_path, SETTINGS)
    run.write_shard(0, rows(("a", "b")))
    made = tmp_path / "verified.json"
    made.write_text("{}")
    (tmp_path / ".shard-00001.tmp123").write_text("half")
    other = {**SETTINGS, "model": "z"}
    run = open_run(tmp_path, other, start_over=True, also_clear=[made])
    assert run.cleared == 1 and run.kept == 0 and not made.exists()
    assert not list(tmp_path.glob("shard-*")) and not list(tmp_path.glob(".shard-*"))
    assert json.loads((tmp_path / "run_config.json").read_text())["model"] == "z"


def test_a_run_config_of_the_wrong_shape_is_a_clear_error(tmp_path):
    (tmp_path / "run_config.json").write_text("[1, 2]")
    with pytest.raises(DDCFError, match="run_config.json"):
        open_run(tmp_path, SETTINGS)


def test_partial_shard_is_seen_and_merged_in_slice_order(tmp_path):
    from ddcf.runs.folder import merge_rows

    run = open_run(tmp_path, SETTINGS)
    slice_ids = ("a", "b", "c")
    run.write_shard(0, rows(("c",), n=2))
    held = run.held_ids(0, slice_ids, n=2)
    assert held == ("c",)
    assert run.held_ids(0, slice_ids, n=1) == ()  # rows of another n: not usable
    df, _ = merge_rows(run.shard_path(0), rows(("a", "b"), n=2), {}, slice_ids, held, ["question_id", "sample", "x"])
    assert df["question_id"].tolist() == ["a", "a", "b", "b", "c", "c"]


def test_a_foreign_shard_is_not_done(tmp_path):
    RunFolder(tmp_path, {"model": "other"}, settings_sha256({"model": "other"})).write_shard(0, rows(("a", "b")))
    run = open_run(tmp_path, SETTINGS)
    assert not run.shard_done(0, ShardPlan(("a", "b"), 2).ids_hash(0), 2) and run.held_ids(0, ("a", "b")) == ()


def test_lock_is_exclusive(tmp_path):
    with run_lock(tmp_path):
        with pytest.raises(DDCFError, match="Another process"):
            with run_lock(tmp_path):
                pass
    with run_lock(tmp_path):  # released
        pass
