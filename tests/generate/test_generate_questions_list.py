"""``--questions FILE``: generate only listed seed questions, resumable together with full runs."""

import json

import pandas as pd
import pytest
from gen_testlib import SEED_ROWS, CountingBackend, fake_grade, settings_for

from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.generate import runner as R
from ddcf.generate.config import GenerateConfig
from ddcf.generate.questions import read_question_list
from ddcf.infer import main as infer_main
from ddcf.io import read_parquet_metadata, write_parquet
from ddcf.runs import folder as S
from ddcf.runs.backends import BackendOptions, create_backend
from ddcf.runs.backends.dummy import DummyBackend

MODEL = "dummy/model-a"
ALL_IDS = [r[0] for r in SEED_ROWS]
# shard_size 3 over the ordered seed set (dataset, length, id): [gsm8k 3, 1, 0] [gsm8k 4, 2, math 1] [math 0, 2]


def settings(questions=None, **kw):
    base = dict(model_name=MODEL, backend="dummy", shard_size=3, max_new_tokens=400, no_progress=True,
                questions=None if questions is None else str(questions))
    base.update(kw)
    return GenerateConfig(**base)


def counting():
    return CountingBackend(DummyBackend(MODEL, BackendOptions()))


def run(layout, questions=None, backend=None, **kw):
    return R.run_generation(layout, settings(questions, **kw), backend=backend or counting(), grade_fn=fake_grade,
                            log=lambda m: None)


def write_list(path, ids, header=""):
    path.write_text(header + "\n".join(ids) + "\n")
    return path


def no_backend(*a, **k):
    raise AssertionError("the model must not be loaded")


def verdict_ids(layout, model=MODEL):
    return sorted(pd.read_parquet(layout.verdicts(model))["question_id"])


def test_only_listed_questions_are_generated_and_recorded_as_partial(seeded, tmp_path):
    # comments, blank lines and a repeated id are fine; the file order is irrelevant
    qfile = write_list(tmp_path / "probe.txt", ["math_level5_test/2", "", "gsm8k_test/3", "gsm8k_test/3"],
                       header="# probe set\n")
    backend = counting()
    res = run(seeded, qfile, backend=backend)
    assert res.status == "done" and backend.main_prompts == 2
    assert verdict_ids(seeded) == ["gsm8k_test/3", "math_level5_test/2"]
    gen_dir = seeded.generations(MODEL)
    # shards stay slices of the whole seed set; the one with no listed question is not written
    assert sorted(p.name for p in gen_dir.glob("shard-*.parquet")) == ["shard-00000.parquet", "shard-00002.parquet"]
    cov = {"n_seed_questions": 8, "n_answered_questions": 2, "partial": True, "questions_file": str(qfile),
           "n_listed_questions": 2}
    summary = json.loads(seeded.generation_summary(MODEL).read_text())
    assert summary["coverage"] == cov and summary["n_questions"] == 2
    assert summary["this_run"]["questions_generated"] == 2
    meta = read_parquet_metadata(seeded.verdicts(MODEL))
    assert {k: meta[k] for k in cov} == cov
    # the run config is the full run's: a list run and a full run share one resume state
    assert json.loads(seeded.generation_run_config(MODEL).read_text())["n_questions"] == 8


def test_rerun_does_not_regenerate_listed_and_finished_questions(seeded, tmp_path, monkeypatch):
    qfile = write_list(tmp_path / "q.txt", ["gsm8k_test/1", "math_level5_test/0"])
    run(seeded, qfile)
    gen_dir = seeded.generations(MODEL)
    mtimes = {p.name: p.stat().st_mtime_ns for p in gen_dir.glob("shard-*.parquet")}
    monkeypatch.setattr(R, "make_backend", no_backend)
    res = R.run_generation(seeded, settings(qfile), grade_fn=fake_grade, log=lambda m: None)
    assert res.status == "skipped" and "all 2 listed question(s) answered" in res.message
    assert "2 of 8 seed questions" in res.message
    assert {p.name: p.stat().st_mtime_ns for p in gen_dir.glob("shard-*.parquet")} == mtimes
    # a sub-list of what is answered needs no model either
    sub = write_list(tmp_path / "sub.txt", ["math_level5_test/0"])
    assert R.run_generation(seeded, settings(sub), grade_fn=fake_grade, log=lambda m: None).status == "skipped"


def test_longer_list_then_full_run_generate_only_the_rest(seeded, layout_factory, tmp_path):
    first = write_list(tmp_path / "a.txt", ["gsm8k_test/1", "math_level5_test/0"])
    run(seeded, first)
    kept = S.read_shards(seeded.generations(MODEL), [0, 2])
    longer = write_list(tmp_path / "b.txt", ["gsm8k_test/1", "math_level5_test/0", "gsm8k_test/2", "gsm8k_test/0"])
    backend = counting()
    res = run(seeded, longer, backend=backend)
    assert backend.main_prompts == 2 and res.summary["this_run"]["questions_generated"] == 2
    assert verdict_ids(seeded) == sorted(["gsm8k_test/0", "gsm8k_test/1", "gsm8k_test/2", "math_level5_test/0"])
    now = S.read_shards(seeded.generations(MODEL), [0, 2]).set_index("question_id")
    old = kept.set_index("question_id")
    pd.testing.assert_frame_equal(now.loc[old.index], old)  # earlier completions kept as they were

    backend = counting()
    res = run(seeded, backend=backend)  # the whole seed set: only the 4 unanswered questions are generated
    assert res.status == "done" and backend.main_prompts == 4
    assert res.summary["coverage"]["partial"] is False and verdict_ids(seeded) == sorted(ALL_IDS)
    # same shards as one uninterrupted full run: the rewritten shards are whole slices again, in order
    ref = layout_factory("ref")
    run(ref)
    pd.testing.assert_frame_equal(S.read_shards(seeded.generations(MODEL), 3), S.read_shards(ref.generations(MODEL), 3))
    for i in range(3):
        meta = read_parquet_metadata(S.shard_path(seeded.generations(MODEL), i))
        assert meta["question_ids_sha256"] == read_parquet_metadata(
            S.shard_path(ref.generations(MODEL), i))["question_ids_sha256"]
    assert run(seeded, backend=counting()).status == "skipped"


def test_list_run_after_a_full_run_generates_nothing(seeded, tmp_path, monkeypatch):
    run(seeded)
    monkeypatch.setattr(R, "make_backend", no_backend)
    qfile = write_list(tmp_path / "q.txt", ["gsm8k_test/4"])
    res = R.run_generation(seeded, settings(qfile), grade_fn=fake_grade, log=lambda m: None)
    assert res.status == "skipped" and "8 of 8 seed questions" in res.message


def test_work_order_follows_the_seed_set_not_the_file(seeded, layout_factory, tmp_path):
    ids = ["math_level5_test/2", "gsm8k_test/0", "math_level5_test/1", "gsm8k_test/4"]
    run(seeded, write_list(tmp_path / "fwd.txt", ids))
    other = layout_factory("other")
    run(other, write_list(tmp_path / "rev.txt", ids[::-1]))
    for i in (0, 1, 2):
        a, b = (S.shard_path(lay.generations(MODEL), i) for lay in (seeded, other))
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))


def test_new_questions_are_verified_even_after_a_crash_before_grading(seeded, tmp_path):
    run(seeded, write_list(tmp_path / "a.txt", ["gsm8k_test/0"]))

    def crash(df, **kw):
        raise RuntimeError("killed while grading")

    longer = write_list(tmp_path / "b.txt", ["gsm8k_test/0", "math_level5_test/1"])
    with pytest.raises(RuntimeError):
        R.run_generation(seeded, settings(longer), backend=counting(), grade_fn=crash, log=lambda m: None)
    backend = counting()
    res = run(seeded, longer, backend=backend)  # shards are complete, the old verdict table is not: regrade
    assert res.status == "done" and backend.main_prompts == 0
    assert verdict_ids(seeded) == ["gsm8k_test/0", "math_level5_test/1"]


def test_csv_and_parquet_lists_use_the_question_id_column(tmp_path):
    frame = pd.DataFrame({"score": [0.9, 0.5, 0.1], "question_id": ["b", "a", "b"]})
    frame.to_csv(tmp_path / "q.csv", index=False)
    write_parquet(frame, tmp_path / "q.parquet")
    assert read_question_list(str(tmp_path / "q.csv")) == ["b", "a"]
    assert read_question_list(str(tmp_path / "q.parquet")) == ["b", "a"]
    assert read_question_list(str(write_list(tmp_path / "h.txt", ["a"], header="question_id\n"))) == ["a"]


# --------------------------------------------------------------------------- bad input
def test_unknown_ids_name_the_file_the_count_the_first_ones_and_the_fix(seeded, tmp_path):
    bad = [f"nope/{k}" for k in range(7)]
    qfile = write_list(tmp_path / "q.txt", ["gsm8k_test/0", *bad])
    with pytest.raises(DDCFError) as ei:
        run(seeded, qfile)
    msg = " ".join(str(ei.value).split())
    assert str(qfile) in msg and "7 of its 8 question id(s)" in msg
    assert "'nope/0', 'nope/1', 'nope/2', 'nope/3', 'nope/4', ..." in msg and "nope/5" not in msg
    assert "DDCF_data/seed/questions.parquet" in msg
    assert not seeded.generations(MODEL).exists() or not any(seeded.generations(MODEL).glob("shard-*"))
    # outside --limit counts as unknown too, and the message says why
    with pytest.raises(DDCFError, match="--limit 2"):
        run(seeded, write_list(tmp_path / "m.txt", ["math_level5_test/2"]), limit=2)


def test_regrade_needs_the_listed_questions_answered(seeded, tmp_path):
    run(seeded, write_list(tmp_path / "a.txt", ["gsm8k_test/0"]))
    with pytest.raises(DDCFError, match="1 listed question\\(s\\) of dummy/model-a .* are not answered yet"):
        run(seeded, write_list(tmp_path / "b.txt", ["gsm8k_test/0", "gsm8k_test/1"]), regrade=True)
    assert run(seeded, write_list(tmp_path / "c.txt", ["gsm8k_test/0"]), regrade=True).status == "done"


@pytest.mark.parametrize("name,content,match", [
    ("empty.txt", "# only a comment\n\n", "lists no question ids"),
    ("zero.txt", "", "is empty"),
    ("cols.csv", "id,score\na,1\n", "lacks the column\\(s\\) question_id"),
    ("blank.csv", "question_id,score\na,1\n,2\n", "empty question_id"),
    ("missing.txt", None, "does not exist"),
])
def test_bad_list_files_are_clear_errors(seeded, tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(DDCFError, match=match) as ei:
        run(seeded, path)
    assert "--questions" in str(ei.value) and str(path) in str(ei.value)


def test_infer_py_takes_the_option_and_records_it(seeded, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(R, "grade_completions", fake_grade)
    qfile = write_list(tmp_path / "q.txt", ["gsm8k_test/2"])
    argv = ["--workdir", str(seeded.root), "--model_name", MODEL, "--backend", "dummy", "--no_progress",
            "--max_new_tokens", "300", "--questions", str(qfile)]
    assert run_main(infer_main, argv) == 0
    out = capsys.readouterr().out
    assert "partial: 1 of 8 seed questions answered" in out and verdict_ids(seeded) == ["gsm8k_test/2"]
    config = (seeded.generations(MODEL) / "generate.config.yaml").read_text()
    assert f"questions: {qfile}" in config
    assert run_main(infer_main, [*argv[:-1], str(tmp_path / "none.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_tiny_model_list_then_extension_on_cpu(seeded, tiny_lm, tmp_path):
    """The real transformers backend: a listed run, then a longer list, counting the prompts sent."""
    backend = CountingBackend(create_backend("hf", str(tiny_lm), BackendOptions(progress=False)))
    s = settings_for(tiny_lm, questions=str(write_list(tmp_path / "a.txt", ["gsm8k_test/0", "math_level5_test/0"])))
    assert R.run_generation(seeded, s, backend=backend, grade_fn=fake_grade, log=lambda m: None).status == "done"
    assert backend.main_prompts == 2 and verdict_ids(seeded, str(tiny_lm)) == ["gsm8k_test/0", "math_level5_test/0"]
    s = settings_for(tiny_lm, questions=str(write_list(tmp_path / "b.txt", ["gsm8k_test/0", "math_level5_test/0",
                                                                             "math_level5_test/1"])))
    res = R.run_generation(seeded, s, backend=backend, grade_fn=fake_grade, log=lambda m: None)
    assert res.status == "done" and backend.main_prompts == 3  # only the new question
    assert len(verdict_ids(seeded, str(tiny_lm))) == 3 and res.summary["coverage"]["n_answered_questions"] == 3
