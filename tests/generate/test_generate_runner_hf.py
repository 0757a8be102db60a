"""The whole generate stage through the real transformers backend on a tiny random Llama."""

import json

import pandas as pd
import pytest
from gen_testlib import CountingBackend, fake_grade, settings_for

from ddcf.generate import runner as R
from ddcf.generate.completions import followup_context
from ddcf.generate.passrate import load_pass_rates
from ddcf.runs import folder as S
from ddcf.runs.backends import BackendOptions, create_backend
from ddcf.verify.grade import VERDICT_COLUMNS


class Killed(RuntimeError):
    pass


@pytest.mark.parametrize("style", ["reference", "ddcf"])
def test_full_run_builds_prompts_followups_shards_and_verdicts(seeded, tiny_lm, grader, style):
    s = settings_for(tiny_lm, prompt_style=style)
    res = R.run_generation(seeded, s, grade_fn=grader, log=lambda m: None)
    assert res.status == "done"
    gen_dir = seeded.generations(str(tiny_lm))
    assert sorted(p.name for p in gen_dir.glob("shard-*.parquet")) == [
        "shard-00000.parquet", "shard-00001.parquet", "shard-00002.parquet"]
    gens = S.read_shards(gen_dir, 3)
    # ordered by dataset then length: gsm8k questions first
    assert list(gens["dataset"]) == ["gsm8k"] * 5 + ["math"] * 3
    if style == "ddcf":
        assert (gens["prompt_tokens"] <= s.max_prompt_tokens).all()
        assert (gens.loc[gens.dataset == "gsm8k", "n_shots"] < 8).all()  # oldest exemplars dropped to fit
    else:  # released: the last 200 tokens kept, decoded, encoded again with the tokenizer's BOS
        assert (gens["prompt_tokens"] == s.max_prompt_tokens + 1).all() and gens["prompt_truncated"].all()
    # a random model never boxes an answer: every completion got the follow-up, recorded in the text
    assert gens["followup"].all()
    for raw, comp, fu in zip(gens["raw_completion"], gens["completion"], gens["followup_text"]):
        assert comp == (followup_context(raw) + fu + "}$" if style == "ddcf"
                        else raw + " The final answer is $\\boxed{" + fu)
    assert (gens["finish_reason"] == "length").sum() >= 6

    v = pd.read_parquet(seeded.verdicts(str(tiny_lm)))
    assert list(v.columns) == VERDICT_COLUMNS  # same schema as the precomputed mode (no sample column)
    assert len(v) == 8 and set(v["question_id"]) == set(gens["question_id"])
    assert v["correct"].dtype == bool and (v["model"] == str(tiny_lm)).all()

    summary = json.loads(seeded.generation_summary(str(tiny_lm)).read_text())
    t = summary["throughput"]
    assert t["n_shards"] == 3 and t["generated_tokens"] > 0 and t["generated_tokens_per_s"] > 0
    assert summary["length_report"]["overall"]["n"] == 8
    assert summary["length_report"]["overall"]["followup_share"] == 1.0
    cfg = json.loads(seeded.generation_run_config(str(tiny_lm)).read_text())
    assert cfg["sampling"]["max_new_tokens"] == s.max_new_tokens and cfg["n_questions"] == 8


def test_kill_and_resume_keeps_finished_shards(seeded, layout_factory, tiny_lm):
    s = settings_for(tiny_lm)
    # reference: one uninterrupted run in another work dir
    ref_layout = layout_factory("ref")
    R.run_generation(ref_layout, s, grade_fn=fake_grade, log=lambda m: None)
    ref = S.read_shards(ref_layout.generations(str(tiny_lm)), 3)

    def kill_after_shard_1(i, path):
        if i == 1:
            raise Killed("simulated kill")

    with pytest.raises(Killed):
        R.run_generation(seeded, s, grade_fn=fake_grade, on_shard_written=kill_after_shard_1, log=lambda m: None)
    gen_dir = seeded.generations(str(tiny_lm))
    done = sorted(p.name for p in gen_dir.glob("shard-*.parquet"))
    assert done == ["shard-00000.parquet", "shard-00001.parquet"]
    assert not seeded.verdicts(str(tiny_lm)).exists()
    mtimes = {p: (gen_dir / p).stat().st_mtime_ns for p in done}

    backend = CountingBackend(create_backend("hf", str(tiny_lm), BackendOptions(progress=False)))
    res = R.run_generation(seeded, s, backend=backend, grade_fn=fake_grade, log=lambda m: None)
    assert res.status == "done"
    assert backend.main_prompts == 2  # only the last shard (2 questions) was generated again
    assert {p: (gen_dir / p).stat().st_mtime_ns for p in done} == mtimes
    resumed = S.read_shards(gen_dir, 3)
    pd.testing.assert_frame_equal(resumed, ref)  # nothing lost, nothing different
    assert res.summary["this_run"]["shards_generated"] == 1
    assert len(pd.read_parquet(seeded.verdicts(str(tiny_lm)))) == 8


def test_force_regenerate_redoes_everything(seeded, tiny_lm):
    s = settings_for(tiny_lm)
    R.run_generation(seeded, s, grade_fn=fake_grade, log=lambda m: None)
    gen_dir = seeded.generations(str(tiny_lm))
    before = {p.name: p.stat().st_mtime_ns for p in gen_dir.glob("shard-*.parquet")}
    backend = CountingBackend(create_backend("hf", str(tiny_lm), BackendOptions(progress=False)))
    s.overwrite = True
    res = R.run_generation(seeded, s, backend=backend, grade_fn=fake_grade, log=lambda m: None)
    assert res.status == "done" and backend.main_prompts == 8
    after = {p.name: p.stat().st_mtime_ns for p in gen_dir.glob("shard-*.parquet")}
    assert set(after) == set(before) and all(after[k] != before[k] for k in before)


def test_pass_at_n_with_sampling(seeded, tiny_lm, grader):
    s = settings_for(tiny_lm, n=3, temperature=1.0, top_p=0.95)
    res = R.run_generation(seeded, s, grade_fn=grader, log=lambda m: None)
    v = pd.read_parquet(seeded.verdicts(str(tiny_lm)))
    assert len(v) == 24 and sorted(v["sample"].unique()) == [0, 1, 2]
    assert list(v.columns) == VERDICT_COLUMNS + ["sample"]
    assert seeded.passrates(str(tiny_lm)).exists()
    pr = load_pass_rates(seeded, str(tiny_lm))
    assert (pr["n"] == 3).all() and len(pr) == 8 and pr["pass_rate"].between(0, 1).all()
    assert set(res.summary["pass_at_k"]) == {"pass@1", "pass@2", "pass@3"}
    gens = S.read_shards(seeded.generations(str(tiny_lm)), 3)
    # samples of one question differ (temperature 1.0 on a random model)
    first = gens[gens["question_id"] == gens["question_id"].iloc[0]]
    assert first["raw_completion"].nunique() > 1
