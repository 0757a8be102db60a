"""``ddcf evaluate --grader reference|strict``: the headline grader, and the strict pass@1 beside it."""

from __future__ import annotations

import pandas as pd
from eval_testlib import OracleBackend, eval_config

from ddcf.evaluate import scoring
from ddcf.evaluate.stage import run
from ddcf.layout import Layout
from ddcf.verify.equivalence import Verifier
from ddcf.verify.reference.grader import ReferenceGrader


def _gens(rows):
    return pd.DataFrame([{"question_id": f"q{i}", "question": f"Q{i}", "gold": g, "dataset": d, "completion": c,
                          "sample": 0, "followup": False, "finish_reason": "stop", "completion_tokens": 5}
                         for i, (c, g, d) in enumerate(rows)])


def test_reference_and_strict_verdicts_side_by_side():
    gens = _gens([("So $\\boxed{220}$.", "221", "gsm8k"),  # within 1%: reference yes, strict no
                  ("So $\\boxed{3.14}$.", "\\pi", "math"),  # pi approximated: reference yes, strict no
                  ("So $\\boxed{7}$.", "7", "gsm8k"),
                  ("I am not sure, maybe 12", "12", "gsm8k")])  # released evaluation: last-number fallback
    with Verifier(timeout=5, workers=1, progress=False) as v, ReferenceGrader(workers=1, last_number=True) as ref:
        both = scoring.grade_benchmark(gens, "m", v, 1, ref)
        strict = scoring.grade_benchmark(gens, "m", v, 1)
    assert both["correct"].tolist() == [True, True, True, True]
    assert both["correct_strict"].tolist() == strict["correct"].tolist()
    assert strict["correct"].tolist()[:3] == [False, False, True]
    m = scoring.metrics(both, [1])
    assert m["pass@1"] == 1.0 and m["pass@1_strict"] == sum(strict["correct"]) / 4


def test_default_is_reference_and_results_carry_both(tmp_path, layout):
    assert eval_config(tmp_path).grader == "reference"
    rep = run(layout, eval_config(tmp_path, benchmarks=["gsm8k", "math500"]), backend=OracleBackend(lambda b, i, s:
                                                                                                      i == 0),
              log=lambda m: None)
    res = rep.details["results"]
    for r in res["benchmarks"].values():
        assert r["grader"] == "reference" and r["headline"] == 0.5 and r["pass@1_strict"] == 0.5
    assert res["table_strict_pass@1"]["GSM8k"] == 50.0
    md = Layout.eval_results(tmp_path / "run", "md").read_text()
    assert "(reference grader)" in md and "(strict grader, pass@1)" in md
    preds = pd.read_parquet(Layout.eval_predictions(tmp_path / "run"))
    assert {"correct_strict", "prediction_strict", "status_strict"} <= set(preds.columns)


def test_strict_grader_option(tmp_path, layout):
    rep = run(layout, eval_config(tmp_path, benchmarks=["gsm8k"], grader="strict"),
              backend=OracleBackend(lambda b, i, s: i == 0), log=lambda m: None)
    r = rep.details["results"]["benchmarks"]["gsm8k"]
    assert r["grader"] == "strict" and r["headline"] == r["pass@1_strict"] == 0.5
