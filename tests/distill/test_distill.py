"""ddcf distill: select, then distill, end to end with the dummy teacher and a tiny local model on the CPU."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from distill_testlib import K, N, right

from ddcf.cli import run_main
from ddcf.distill import teacher as teacher_mod
from ddcf.distill.cli import main
from ddcf.select.sft_dataset import render_chatml

SFT_COLUMNS = ["text", "messages", "question_id", "question", "response", "dataset", "rank"]


def run_cli(layout, sel, *extra, teacher="dummy-teacher", backend="dummy") -> int:
    return run_main(main, [str(sel), "--teacher", teacher, "--backend", backend, "--workdir", str(layout.root),
                           "--no_progress", "--max_new_tokens", "400", *extra])


def flat(text: str) -> str:
    """The error paragraph with its line wrapping undone."""
    return " ".join(text.split())


def load(path):
    from datasets import load_from_disk

    return load_from_disk(str(path))


def index_of(qid: str) -> int:
    return int(qid[1:])


# ---------------------------------------------------------------------------- the selection of an unannotated corpus
def test_selection_of_an_unannotated_corpus_needs_distill(selection, capsys):
    layout, sel = selection
    report = json.loads(layout.selection_report(sel).read_text())
    assert report["needs_distill"] is True
    ds = load(layout.selection_dataset(sel))
    assert ds.column_names == SFT_COLUMNS and len(ds) == K
    assert set(ds["response"]) == {""}
    assert all(m == [{"role": "user", "content": q}] for m, q in zip(ds["messages"], ds["question"]))


# ---------------------------------------------------------------------------- end to end, dummy teacher
def test_distill_writes_the_sft_dataset_of_exactly_the_selection(selection, capsys):
    layout, sel = selection
    assert run_cli(layout, sel, "--temperature", "0") == 0
    out = capsys.readouterr().out
    picked = pd.read_parquet(layout.selection_table(sel))
    ds = load(layout.distill_dataset(sel))
    assert ds.column_names == SFT_COLUMNS
    assert ds["question_id"] == picked["question_id"].tolist() and ds["rank"] == list(range(1, K + 1))
    corpus = pd.read_parquet(layout.corpus_questions).set_index("question_id")
    assert ds["question"] == corpus.loc[ds["question_id"], "question"].tolist()
    assert all(r.startswith("We work it out:") for r in ds["response"])
    for row in ds:
        assert row["messages"] == [{"role": "user", "content": row["question"]},
                                   {"role": "assistant", "content": row["response"]}]
        assert row["text"] == render_chatml(row["messages"])
    rep = json.loads(layout.distill_report(sel).read_text())
    assert rep["teacher"] == "dummy-teacher" and rep["options"]["backend"] == "dummy"
    assert rep["options"]["sampling"]["temperature"] == 0.0 and rep["acceptance_rate"] is None
    shards = pd.concat(pd.read_parquet(p) for p in sorted(layout.distill_shards(sel).glob("shard-*.parquet")))
    cost = rep["cost"]
    assert cost["teacher_tokens_generated"] == int(shards["tokens_generated"].sum()) > 0
    assert cost["corpus_questions"] == N and cost["selected_questions"] == K
    assert cost["corpus_tokens_estimate"] == round(cost["teacher_tokens_generated"] / K * N)
    assert "teacher tokens" in out and str(layout.distill_dataset(sel)) in out
    assert (layout.distill_dir(sel) / "distill.config.yaml").is_file()


def test_resume_after_a_kill_generates_only_the_missing_shards(selection, monkeypatch):
    layout, sel = selection
    real = teacher_mod.distill_shard
    calls = []

    class Kill(BaseException):
        pass

    def killed_after_one(backend, part, *a, **kw):
        calls.append(part["question_id"].tolist())
        if len(calls) == 2:
            raise Kill  # like SIGKILL mid-run: the first shard is on disk, nothing else
        return real(backend, part, *a, **kw)

    monkeypatch.setattr(teacher_mod, "distill_shard", killed_after_one)
    with pytest.raises(Kill):
        run_cli(layout, sel, "--shard_size", "4")
    assert [p.name for p in layout.distill_shards(sel).glob("shard-*.parquet")] == ["shard-00000.parquet"]
    assert not layout.distill_dataset(sel).exists()
    first = pd.read_parquet(layout.distill_shards(sel) / "shard-00000.parquet")
    calls.clear()
    monkeypatch.setattr(teacher_mod, "distill_shard", lambda *a, **kw: (calls.append(1), real(*a, **kw))[1])
    assert run_cli(layout, sel, "--shard_size", "4") == 0
    assert len(calls) == 2  # shards 1 and 2 of 3 (10 questions, 4 per shard)
    pd.testing.assert_frame_equal(pd.read_parquet(layout.distill_shards(sel) / "shard-00000.parquet"), first)
    # the same run once more: nothing left to generate, the same dataset
    calls.clear()
    before = load(layout.distill_dataset(sel)).to_dict()
    assert run_cli(layout, sel, "--shard_size", "4") == 0
    assert calls == [] and load(layout.distill_dataset(sel)).to_dict() == before
    # an uninterrupted run gives the same shards
    rep = json.loads(layout.distill_report(sel).read_text())
    assert rep["shards_generated_now"] == 0


def test_changed_settings_refuse_to_mix_shards(selection, capsys):
    layout, sel = selection
    assert run_cli(layout, sel, "--shard_size", "4") == 0
    assert run_cli(layout, sel, "--shard_size", "4", "--temperature", "0.9") == 2
    assert "other settings" in flat(capsys.readouterr().err)
    assert run_cli(layout, sel, "--shard_size", "4", "--temperature", "0.9", "--overwrite") == 0


# ---------------------------------------------------------------------------- acceptance filter
def test_acceptance_filter_keeps_only_verified_answers_and_retries(selection):
    layout, sel = selection
    assert run_cli(layout, sel, "--verify_responses", "--max_attempts", "1") == 0
    one = json.loads(layout.distill_report(sel).read_text())
    assert run_cli(layout, sel, "--verify_responses", "--max_attempts", "6", "--overwrite") == 0
    rep = json.loads(layout.distill_report(sel).read_text())
    ds = load(layout.distill_dataset(sel))
    gold = pd.read_parquet(layout.corpus_questions).set_index("question_id")["answer"]
    shards = pd.concat(pd.read_parquet(p) for p in sorted(layout.distill_shards(sel).glob("shard-*.parquet")))
    # exact oracle, independent of the verifier: a kept response boxes its gold; the unreachable golds never pass
    for qid, resp in zip(ds["question_id"], ds["response"]):
        assert right(index_of(qid)) and f"\\boxed{{{gold[qid]}}}" in resp
    wrong = shards[[not right(index_of(q)) for q in shards["question_id"]]]
    assert not wrong["accepted"].any() and (wrong["attempts"] == 6).all()
    assert rep["verified"] == K and rep["accepted"] == len(ds) == int(shards["accepted"].sum())
    assert rep["acceptance_rate"] == round(len(ds) / K, 4)
    assert rep["accepted"] >= one["accepted"] and (shards["attempts"] > 1).any()  # retries found more
    assert rep["dropped"] == K - len(ds)
    assert set(rep["dropped_ids"]) == set(shards["question_id"]) - set(ds["question_id"])
    # the cost counts every attempt
    assert rep["cost"]["teacher_tokens_generated"] == int(shards["tokens_generated"].sum())
    assert rep["cost"]["responses_generated"] == int(shards["attempts"].sum())


# ---------------------------------------------------------------------------- bad input
def test_bad_inputs_are_clear_errors(selection, tmp_path, capsys):
    layout, sel = selection
    assert run_cli(layout, tmp_path / "nowhere") == 2
    assert "does not exist" in flat(capsys.readouterr().err)
    (tmp_path / "notsel").mkdir()
    assert run_cli(layout, tmp_path / "notsel") == 2
    assert "is not a selection folder" in flat(capsys.readouterr().err)
    assert run_cli(layout, sel, teacher="no-such-teacher") == 2  # the dummy backend cannot find it
    assert "cannot find the model" in flat(capsys.readouterr().err)
    assert run_cli(layout, sel, teacher="/no/such/teacher/folder", backend="hf") == 2
    assert "does not exist" in flat(capsys.readouterr().err)
    assert not layout.distill_dataset(sel).exists()


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_a_teacher_engine_that_is_not_installed(selection, capsys, engine):
    from ddcf.runtime import is_available

    if is_available(engine):
        pytest.skip(f"{engine} is installed here")
    layout, sel = selection
    assert run_cli(layout, sel, teacher="Qwen/Qwen3-32B", backend=engine) == 2
    err = flat(capsys.readouterr().err)
    assert engine in err and f"make gpu-env ENGINE={engine}" in err


# ---------------------------------------------------------------------------- tiny local model on the CPU
def test_distill_with_a_tiny_local_model_on_cpu(selection, tiny_lm):
    layout, sel = selection
    args = ["--chat_template", "plain", "--max_new_tokens", "6", "--shard_size", "6", "--temperature", "0"]
    assert run_cli(layout, sel, *args, teacher=str(tiny_lm), backend="hf") == 0
    ds = load(layout.distill_dataset(sel))
    rep = json.loads(layout.distill_report(sel).read_text())
    assert len(ds) == rep["examples"] and rep["selected"] == K
    assert ds["question_id"] == pd.read_parquet(layout.selection_table(sel))["question_id"].tolist()[:len(ds)] \
        or set(ds["question_id"]) <= set(pd.read_parquet(layout.selection_table(sel))["question_id"])
    shards = pd.concat(pd.read_parquet(p) for p in sorted(layout.distill_shards(sel).glob("shard-*.parquet")))
    assert (shards["response_tokens"] <= 6).all() and rep["cost"]["teacher_tokens_generated"] > 0
    assert rep["engine"]["backend"] == "hf"


def test_printed_next_steps_carry_the_workdir(selection, capsys):
    """The selection's and distill's "next" commands run as printed from elsewhere: they name --workdir."""
    import shlex

    from distill_testlib import MODEL

    from ddcf.select.cli import main as select_main

    layout, sel = selection
    capsys.readouterr()
    assert select_main(["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", "--num_select",
                        str(K)]) == 0
    out = flat(capsys.readouterr().out)
    assert f"ddcf distill {shlex.quote(str(sel))} --teacher MODEL --workdir {shlex.quote(str(layout.root))}" in out
    assert run_cli(layout, sel, "--temperature", "0") == 0
    out = flat(capsys.readouterr().out)
    assert f"--output_dir OUT --workdir {shlex.quote(str(layout.root))}" in out


def test_the_earlier_template_name_auto_is_model():
    """'auto' (the name before evaluate's rename) becomes 'model' once, so prompts, stops and the resume key agree."""
    from ddcf.distill.config import DistillConfig

    cfg = DistillConfig(selection_dir="x", teacher="t", chat_template="auto")
    cfg.check()
    assert cfg.chat_template == "model"
