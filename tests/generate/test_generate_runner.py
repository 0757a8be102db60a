"""Runner logic with the instant dummy backend: resume rules, skip rules, validation, verification."""

import json

import pandas as pd
import pytest
from gen_testlib import CountingBackend, fake_grade, seed_frame

from ddcf.errors import DDCFError
from ddcf.generate import runner as R
from ddcf.generate.completions import followup_context, has_boxed_answer
from ddcf.generate.config import GenerateConfig
from ddcf.generate.questions import order_questions
from ddcf.io import write_parquet
from ddcf.runs import backends
from ddcf.runs import folder as S
from ddcf.runs.backends import BackendOptions
from ddcf.runs.backends.dummy import DummyBackend
from ddcf.verify.generated import verify_generations

MODEL = "dummy/model-a"
QUIET = dict(log=lambda m: None)


def dummy_settings(**kw):
    base = dict(model_name=MODEL, backend="dummy", shard_size=3, max_new_tokens=400, no_progress=True)
    base.update(kw)
    return GenerateConfig(**base)


def run(layout, s=None, **kw):
    kw.setdefault("grade_fn", fake_grade)
    return R.run_generation(layout, s or dummy_settings(), **QUIET, **kw)


def no_backend(*a, **k):
    raise AssertionError("the model must not be loaded")


@pytest.mark.parametrize("style", ["reference", "ddcf"])
def test_greedy_run_verdicts_and_followups(seeded, style):
    res = run(seeded, dummy_settings(prompt_style=style))
    assert res.status == "done"
    v = pd.read_parquet(seeded.verdicts(MODEL))
    # the dummy boxes the last number of the question; gold equals it except for math_level5_test/2
    wrong = set(v.loc[~v["correct"], "question_id"])
    assert wrong == {"math_level5_test/2", "gsm8k_test/0"}  # gsm8k_test/0's last number is 4, gold 7
    gens = S.read_shards(seeded.generations(MODEL), 3)
    fu = gens[gens["followup"]]
    assert len(fu) > 0  # the dummy leaves ~1 in 4 unboxed; the follow-up boxes them
    assert all(has_boxed_answer(c) for c in gens["completion"])
    if style == "ddcf":
        assert all(c.endswith("}$") for c in fu["completion"])
        assert all(c == followup_context(r) + t + "}$" for c, r, t in
                   zip(fu["completion"], fu["raw_completion"], fu["followup_text"]))
    else:  # released: completion + " The final answer is $\\boxed{" + follow-up, triggered by a missing "\\boxed{"
        assert all(c == r + " The final answer is $\\boxed{" + t for c, r, t in
                   zip(fu["completion"], fu["raw_completion"], fu["followup_text"]))
        assert not fu["raw_completion"].str.contains("\\boxed{", regex=False).any()
        assert gens.loc[~gens["followup"], "raw_completion"].str.contains("\\boxed{", regex=False).all()
    assert (gens.loc[~gens["followup"], "followup_text"] == "").all()
    assert not gens["raw_completion"].str.contains("Problem:").any()  # stop string honoured


def test_complete_model_is_skipped_without_loading(seeded, monkeypatch):
    run(seeded)
    monkeypatch.setattr(R, "make_backend", no_backend)
    res = run(seeded)
    assert res.status == "skipped" and "already complete" in res.message


def test_changed_verdict_file_is_regraded_not_regenerated(seeded, monkeypatch):
    run(seeded)
    v = pd.read_parquet(seeded.verdicts(MODEL))
    write_parquet(v.iloc[:3], seeded.verdicts(MODEL))  # someone overwrote it
    monkeypatch.setattr(R, "make_backend", no_backend)
    res = run(seeded)
    assert res.status == "done" and len(pd.read_parquet(seeded.verdicts(MODEL))) == 8


def test_regrade_grades_again_only(seeded, monkeypatch):
    run(seeded)
    calls = []

    def grade(df, **kw):
        calls.append(kw)
        return fake_grade(df, **kw)

    monkeypatch.setattr(R, "make_backend", no_backend)
    res = run(seeded, dummy_settings(regrade=True), grade_fn=grade)
    assert res.status == "done" and len(calls) == 1
    assert calls[0]["cache_path"] is None  # grading again bypasses the verify cache


def test_regrade_needs_finished_generation(seeded):
    with pytest.raises(DDCFError, match="--regrade needs finished generations"):
        run(seeded, dummy_settings(regrade=True))


def test_resume_with_other_settings_is_refused(seeded):
    run(seeded)
    with pytest.raises(DDCFError, match="overwrite") as ei:
        run(seeded, dummy_settings(max_new_tokens=50))
    assert "sampling.max_new_tokens: 400 -> 50" in str(ei.value)
    with pytest.raises(DDCFError, match="question list changed"):
        run(seeded, dummy_settings(limit=4))
    # and --force_regenerate accepts the new settings
    assert run(seeded, dummy_settings(limit=4, overwrite=True)).status == "done"
    assert len(pd.read_parquet(seeded.verdicts(MODEL))) == 4


def test_greedy_ignores_sampling_only_options(seeded, monkeypatch):
    run(seeded)
    monkeypatch.setattr(R, "make_backend", no_backend)
    assert run(seeded, dummy_settings(seed=123, top_p=0.5)).status == "skipped"


def test_foreign_verdicts_are_left_alone(seeded):
    write_parquet(pd.DataFrame({"model": [MODEL], "question_id": ["x"], "correct": [True]}),
                  seeded.verdicts(MODEL))
    res = run(seeded)
    assert res.status == "foreign" and "overwrite" in res.message
    assert len(pd.read_parquet(seeded.verdicts(MODEL))) == 1
    assert run(seeded, dummy_settings(overwrite=True)).status == "done"
    assert len(pd.read_parquet(seeded.verdicts(MODEL))) == 8


def test_sampling_pass_rates_are_reproducible(seeded, layout_factory):
    s = dummy_settings(n=4, temperature=0.8)
    run(seeded, s)
    other = layout_factory("other")
    run(other, dummy_settings(n=4, temperature=0.8, shard_size=5))  # other sharding, same samples
    a = pd.read_parquet(seeded.verdicts(MODEL))
    b = pd.read_parquet(other.verdicts(MODEL))
    pd.testing.assert_frame_equal(a, b)
    assert set(a["sample"]) == {0, 1, 2, 3}
    pr = pd.read_parquet(seeded.verdicts_dir / "dummy__model-a.passrate.parquet")
    assert (pr["n"] == 4).all() and pr["pass_rate"].between(0, 1).all()
    assert 0 < pr["pass_rate"].mean() < 1


def test_kill_between_shards_with_dummy(seeded):
    backend = CountingBackend(DummyBackend(MODEL, BackendOptions()))

    def boom(i, path):
        if i == 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(seeded, backend=backend, on_shard_written=boom)
    assert backend.main_prompts == 3
    run(seeded, backend=backend)
    assert backend.main_prompts == 8  # 3 before the kill + the 5 of the remaining shards


def test_stale_tmp_files_are_removed(seeded):
    gen_dir = seeded.generations(MODEL)
    gen_dir.mkdir(parents=True)
    junk = gen_dir / ".shard-00000.parquet.abc.tmp"
    junk.write_text("half a file")
    run(seeded)
    assert not junk.exists()


def test_another_process_holding_the_lock(seeded):
    with S.run_lock(seeded.generations(MODEL)):
        with pytest.raises(DDCFError, match="Another process is working in"):
            run(seeded)


def test_run_summary_contents(seeded):
    res = run(seeded, dummy_settings(max_new_tokens=60))
    summary = json.loads(seeded.generation_summary(MODEL).read_text())
    assert summary == json.loads(json.dumps(res.summary))
    lr = summary["length_report"]
    assert set(lr["by_dataset"]) == {"gsm8k", "math"}
    assert 0 < lr["overall"]["hit_cap_share"] <= 1 and lr["overall"]["max"] <= 60
    assert summary["accuracy_by_dataset"].keys() == {"gsm8k", "math"}
    assert summary["status_counts"]


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(n=3), "identical samples"),
        (dict(temperature=-1.0), "--temperature"),
        (dict(temperature=float("nan")), "--temperature"),
        (dict(top_p=0.0, temperature=1.0), "--top_p"),
        (dict(max_new_tokens=0), "--max_new_tokens"),
        (dict(shard_size=0), "--shard_size"),
        (dict(limit=0), "--limit"),
        (dict(mem_fraction=1.5), "--mem_fraction"),
        (dict(data_parallel_size=0), "--data_parallel_size"),
        (dict(regrade=True, overwrite=True), "contradict"),
        (dict(model_name=""), "No model given"),
        (dict(model_name=None), "No model given"),
        (dict(backend="nope"), "--backend is 'nope'"),
        (dict(timeout=0.0), "--timeout"),
        (dict(workers=0), "--workers"),
    ],
)
def test_bad_options_are_clear_errors(seeded, kw, match):
    with pytest.raises(DDCFError, match=match):
        run(seeded, dummy_settings(**kw))


def test_missing_model_is_a_clear_error(seeded):
    with pytest.raises(DDCFError, match="cannot find the model"):
        run(seeded, dummy_settings(model_name="/no/such/model"))


def test_gpu_engine_without_gpu(seeded, monkeypatch):
    monkeypatch.setattr(backends, "cuda_device_count", lambda: 0)
    with pytest.raises(DDCFError, match="needs a CUDA GPU"):
        run(seeded, dummy_settings(backend="sglang"))


def test_parallelism_defaults(monkeypatch):
    monkeypatch.setattr(backends, "cuda_device_count", lambda: 8)
    assert R.resolve_parallelism(dummy_settings(backend="vllm", tensor_parallel_size=2), "vllm") == 4
    assert R.resolve_parallelism(dummy_settings(backend="vllm"), "vllm") == 8
    with pytest.raises(DDCFError, match="needs 12 GPUs"):
        R.resolve_parallelism(dummy_settings(tensor_parallel_size=4, data_parallel_size=3), "sglang")
    with pytest.raises(DDCFError, match="larger than the 8"):
        R.resolve_parallelism(dummy_settings(tensor_parallel_size=16), "sglang")


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda df: df.drop(columns=["gold"]), "lacks the column"),
        (lambda df: pd.concat([df, df.iloc[:1]]), "repeats 1 question id"),
        (lambda df: df.assign(question=[""] + list(df["question"][1:])), "empty question"),
        (lambda df: df.assign(gold=[None] + list(df["gold"][1:])), "missing 'gold'"),
        (lambda df: df.iloc[:0], "has no rows"),
    ],
)
def test_bad_seed_tables(layout, mutate, match):
    write_parquet(mutate(seed_frame()), layout.seed_questions)
    with pytest.raises(DDCFError, match=match):
        run(layout)


def test_missing_seed_table(layout):
    with pytest.raises(DDCFError, match="does not exist"):
        run(layout)


def test_seed_table_without_dataset_column_uses_math_prompt(layout):
    write_parquet(seed_frame().drop(columns=["dataset"]), layout.seed_questions)
    assert run(layout, dummy_settings(max_prompt_tokens=4096)).status == "done"  # bytes are tokens here
    gens = S.read_shards(layout.generations(MODEL), 3)
    assert (gens["dataset"] == "unknown").all() and (gens["n_shots"] == 4).all()


def test_limit_takes_the_first_questions(seeded):
    run(seeded, dummy_settings(limit=3))
    v = pd.read_parquet(seeded.verdicts(MODEL))
    assert set(v["question_id"]) == set(seed_frame()["question_id"][:3])


# --------------------------------------------------------------------------- small helpers
@pytest.mark.parametrize(
    "text,expected",
    [
        ("so $\\boxed{42}$.", True),
        ("\\boxed{\\frac{1}{2}}", True),
        ("\\boxed{\\frac{1}{2}", False),
        ("The answer is \\boxed 5", True),
        ("\\fbox{3}", True),
        ("no box here", False),
        ("\\boxed{", False),
        ("\\boxed{1} then \\boxed{", True),
        ("\\boxed{}", True),  # an empty box is an answer the verifier grades (as no_answer)
        ("\\boxed{\\}", False),  # escaped brace: the box is not closed (the verifier's matcher)
        ("\\boxed{\\{1\\}}", True),
    ],
)
def test_has_boxed_answer(text, expected):
    assert has_boxed_answer(text) is expected


def test_followup_context():
    assert followup_context("abc  \n") == "abc\nThe final answer is $\\boxed{"
    assert followup_context("") == "The final answer is $\\boxed{"


def test_order_questions_groups_datasets_then_length():
    df = pd.DataFrame({"question_id": ["a", "b", "c", "d"], "question": ["long question", "s", "mid q", "x"],
                       "gold": ["1"] * 4, "dataset": ["math", "math", "gsm8k", "gsm8k"]})
    assert list(order_questions(df)["question_id"]) == ["d", "c", "b", "a"]


def test_verification_grades_each_distinct_completion_once():
    gens = pd.DataFrame({"question_id": ["q1", "q1", "q2"], "sample": [0, 1, 0], "question": ["Q1", "Q1", "Q2"],
                         "gold": ["1", "1", "2"], "dataset": ["math"] * 3,
                         "completion": ["\\boxed{1}", "\\boxed{1}", "\\boxed{3}"]})
    seen = []

    def grade(df, **kw):
        seen.append(len(df))
        return fake_grade(df)

    v = verify_generations(gens, "m", grade, n_samples=2, cache_path=None, timeout=1, workers=1, progress=False)
    assert seen == [2]
    assert list(v["correct"]) == [True, True, False] and list(v["sample"]) == [0, 1, 0]
    with pytest.raises(RuntimeError, match="no verdict"):
        verify_generations(gens, "m", lambda df, **kw: fake_grade(df).iloc[:1], n_samples=2, cache_path=None,
                             timeout=1, workers=1, progress=False)
