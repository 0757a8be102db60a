"""eval/evaluate.py end to end: known answers -> known Table 2, pass@k, follow-ups, resume, bad input."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from eval_testlib import OracleBackend, eval_config

from ddcf.errors import DDCFError
from ddcf.evaluate import tables
from ddcf.evaluate.cli import command
from ddcf.evaluate.stage import run
from ddcf.generate.passrate import pass_at_k
from ddcf.layout import Layout


def _first_right(bench, i, s):
    return i == 0


def test_every_benchmark_known_table(tmp_path, layout):
    be = OracleBackend(_first_right)
    rep = run(layout, eval_config(tmp_path), backend=be, log=lambda m: None)
    res = rep.details["results"]
    assert set(res["benchmarks"]) == {"aime24", "math500", "olympiadbench", "gsm8k", "sat", "minervamath", "gaokao",
                                      "stem", "svamp", "amc23"}
    for name, r in res["benchmarks"].items():
        assert (r["n_questions"], r["n_samples"], r["headline"]) == (2, 1, 0.5), name
    assert all(v == 50.0 for v in res["table"].values())
    out = tmp_path / "run"
    preds = pd.read_parquet(Layout.eval_predictions(out))
    assert list(preds.columns[:6]) == ["benchmark", "question_id", "sample", "completion", "prediction", "correct"]
    assert len(preds) == 20 and preds["correct"].sum() == 10
    # reference schedule: every answer lacks "</think>", so each got it appended and a continuation; AIME24's
    # open reasoning then gave its box there, and the 6 choice answers (SAT, STEM, Gaokao) that named a letter
    # without a box got the boxed follow-up
    row = preds[(preds["benchmark"] == "aime24")].iloc[0]
    assert row["followup"] and "</think>" in row["completion"] and row["correct"]
    assert be.think_prompts == 20 and be.followup_prompts == 6
    assert preds["prompt"].str.startswith("<|im_start|>system\nPlease reason step by step").all()
    md = Layout.eval_results(out, "md").read_text()
    assert "| AIME24 | MATH | OlyBen | GSM8k | SAT | ID avg | Minerva | Gaokao | STEM | OOD avg | SVAMP | AMC23 |" in md
    csv = pd.read_csv(Layout.eval_results(out, "csv"))
    assert list(csv.columns) == ["run", *tables.COLUMNS] and csv.loc[0, "ID avg"] == 50.0
    assert (out / "evaluate.config.yaml").exists() or rep.config_dir == out


def test_single_schedule_known_table(tmp_path, layout):
    # ddcf's earlier schedule and prompt: one greedy follow-up, only where the reasoning is open or no box
    be = OracleBackend(_first_right)
    rep = run(layout, eval_config(tmp_path, schedule="single", chat_template="model"), backend=be,
              log=lambda m: None)
    assert all(r["headline"] == 0.5 for r in rep.details["results"]["benchmarks"].values())
    preds = pd.read_parquet(Layout.eval_predictions(tmp_path / "run"))
    row = preds[(preds["benchmark"] == "aime24")].iloc[0]
    assert row["followup"] and "</think>" in row["completion"] and row["correct"]
    # one for AIME24's open reasoning + one for each of the 6 choice answers
    assert be.think_prompts == 0 and be.followup_prompts == 1 + 6
    assert preds["prompt"].str.startswith("<user>\n").all()  # the tokenizer's own template


def test_sampled_pass_at_k_is_the_unbiased_estimator(tmp_path, layout):
    # AIME24: question 0 right in samples 0 and 2 of 4, question 1 never: pass@2 = (1 - C(2,2)/C(4,2)) / 2
    be = OracleBackend(lambda b, i, s: i == 0 and s % 2 == 0)
    cfg = eval_config(tmp_path, benchmarks=["aime24"], n=4, k=["2"], max_new_tokens=64)
    res = run(layout, cfg, backend=be, log=lambda m: None).details["results"]["benchmarks"]["aime24"]
    assert res["headline_metric"] == "pass@2"
    assert res["headline"] == pytest.approx((1 - 1 / 6) / 2)
    assert res["pass@1"] == pytest.approx(0.25)


@pytest.mark.parametrize("n,c,k,exact", [(4, 2, 2, 5 / 6), (5, 0, 3, 0.0), (5, 5, 1, 1.0), (64, 1, 32, 0.5),
                                         (10, 3, 1, 0.3), (6, 2, 3, 1 - math.comb(4, 3) / math.comb(6, 3))])
def test_pass_at_k_exact_small_cases(n, c, k, exact):
    assert pass_at_k(n, c, k) == pytest.approx(exact)


def test_resume_after_a_killed_run_loses_nothing(tmp_path, layout):
    cfg = eval_config(tmp_path, benchmarks=["gsm8k", "sat"])
    clean = run(layout, eval_config(tmp_path / "clean", benchmarks=["gsm8k", "sat"]),
                backend=OracleBackend(_first_right), log=lambda m: None).details["predictions"]

    class Killed(Exception):
        pass

    def kill_after_two(bench, i, path):
        if (bench, i) == ("gsm8k", 1):
            raise Killed

    first = OracleBackend(_first_right)
    with pytest.raises(Killed):
        run(layout, cfg, backend=first, on_shard_written=kill_after_two, log=lambda m: None)
    again = OracleBackend(_first_right)
    resumed = run(layout, cfg, backend=again, log=lambda m: None).details["predictions"]
    assert first.main_prompts == 2 and again.main_prompts == 2  # gsm8k's 2 shards kept, only sat generated
    pd.testing.assert_frame_equal(resumed.reset_index(drop=True), clean.reset_index(drop=True))
    # a third run generates nothing
    third = OracleBackend(_first_right)
    run(layout, cfg, backend=third, log=lambda m: None)
    assert third.main_prompts == 0


def test_dummy_backend_cli(tmp_path, layout, capsys):
    out = tmp_path / "cli"
    rc = command.main(["--model_name_or_path", "dummy/m", "--backend", "dummy", "--benchmarks", "gsm8k,stem",
                       "--limit", "2", "--output_dir", str(out), "--no_progress", "--workers", "1",
                       "--workdir", str(layout.root)])
    assert rc == 0
    assert {"results.md", "results.csv", "results.json", "predictions.parquet"} <= {p.name for p in out.iterdir()}
    assert "GSM8k" in capsys.readouterr().out


def test_tiny_local_model_two_questions(tmp_path, layout, tiny_lm):
    out = tmp_path / "tiny"
    rc = command.main(["--model_name_or_path", str(tiny_lm), "--backend", "hf", "--benchmarks", "gsm8k", "--limit",
                       "2", "--chat_template", "plain", "--max_new_tokens", "6", "--followup_max_tokens", "3",
                       "--output_dir", str(out), "--no_progress", "--workers", "1", "--workdir", str(layout.root)])
    assert rc == 0
    preds = pd.read_parquet(Layout.eval_predictions(out))
    assert len(preds) == 2 and preds["followup"].all()  # 6 random tokens never hold a box
    assert preds["completion"].str.contains("\n</think>", regex=False).all()  # the reference schedule
    assert preds["completion"].str.contains("\nThe final answer is \\boxed{", regex=False).all()


@pytest.mark.parametrize("argv,match", [
    (["--benchmarks", "gsm8k,mathqa"], "unknown benchmark 'mathqa'"),
    (["--n", "4", "--k", "8"], "--n 4 is smaller than --k 8"),
    (["--k", "x"], "not a whole number"),
    (["--min_p", "0.1"], "min_p"),
    (["--temperature", "0", "--n", "4"], "greedy"),
])
def test_bad_options_are_one_paragraph(argv, match):
    with pytest.raises(DDCFError, match=match):
        command.parse(["--model_name_or_path", "dummy/m", *argv])


def test_missing_model_path(tmp_path, layout):
    with pytest.raises(DDCFError, match="does not exist"):
        command.main(["--model_name_or_path", str(tmp_path / "no" / "model"), "--backend", "hf", "--limit", "1",
                      "--workdir", str(layout.root), "--output_dir", str(tmp_path / "o")])


def test_tokenizer_without_chat_template_names_the_option(tmp_path, layout, tiny_lm):
    with pytest.raises(DDCFError, match="--chat_template reference") as err:
        command.main(["--model_name_or_path", str(tiny_lm), "--backend", "hf", "--benchmarks", "gsm8k", "--limit",
                      "1", "--workdir", str(layout.root), "--output_dir", str(tmp_path / "o"), "--chat_template",
                      "model"])
    assert "no chat template" in str(err.value)
