import pandas as pd
import pytest

from ddcf.errors import DDCFError
from ddcf.io import read_parquet_metadata
from ddcf.verify.accuracy import format_summary, summarize_verdicts
from ddcf.verify.equivalence import verifier_version
from ddcf.verify.grade import VERDICT_COLUMNS, completions_fingerprint, grade_completions, write_verdicts

ROWS = [
    # model, question_id, gold, dataset, completion, expected (correct, status)
    ("m1", "g/1", "# 18", "gsm8k", '{"reasoning": "9*2", "answer": "$18"}', (True, "ok")),
    ("m1", "g/2", "# 1,200", "gsm8k", "So she pays 1200 dollars.\n#### 1,200", (True, "ok")),
    ("m1", "g/3", "# 5", "gsm8k", "", (False, "no_answer")),
    ("m1", "q/1", "\\frac{1}{2}", "math", '```json\n{"reasoning": "x", "answer": "\\dfrac{1}{2}"}\n```', (True, "ok")),
    ("m1", "q/2", "2\\sqrt{3}", "math", "The final answer is $\\boxed{\\sqrt{12}}$", (True, "ok")),
    ("m1", "q/3", "7", "math", '{"reasoning": "...", "answer": "___"}', (False, "no_answer")),
    ("m2", "q/1", "\\frac{1}{2}", "math", '{"answer": "0.25"}', (False, "ok")),
    ("m2", "q/4", "5", "math", '{"answer": "9^{9^{9^{9^{9}}}}"}', (False, None)),  # pathological: any status
    ("m2", "q/5", "5", "math", '{"answer": "' + "\\frac{1}{" * 200 + "2" + "}" * 200 + '"}', (False, None)),
    ("m2", "q/6", "3", "math", '{"answer": "x = 3"}', (True, "ok")),
]


def completions(with_dataset=True):
    df = pd.DataFrame(
        [(m, q, f"question {q}", g, d, c) for m, q, g, d, c, _ in ROWS],
        columns=["model", "question_id", "question", "gold", "dataset", "completion"],
    )
    return df if with_dataset else df.drop(columns="dataset")


def test_grade_completions_schema_and_verdicts(shared_verifier):
    out = grade_completions(completions(), verifier=shared_verifier, progress=False)
    assert list(out.columns) == VERDICT_COLUMNS
    assert len(out) == len(ROWS)
    assert out["correct"].dtype == bool
    assert set(out["status"]) <= {"ok", "no_answer", "timeout", "error"}
    assert list(out["question_id"]) == [r[1] for r in ROWS]  # input order kept
    for row, (_, got) in zip(ROWS, out.iterrows()):
        want_correct, want_status = row[-1]
        assert bool(got["correct"]) == want_correct, row[:2]
        if want_status is not None:
            assert got["status"] == want_status, row[:2]
    assert out.loc[out["status"] == "no_answer", "prediction"].isna().all()
    assert out.loc[0, "prediction"] == "$18" and out.loc[3, "prediction"] == "\\dfrac{1}{2}"


def test_dataset_inferred_from_gold_when_absent(shared_verifier):
    df = completions(with_dataset=False)
    out = grade_completions(df, verifier=shared_verifier, progress=False)
    # '# N' and plain-number golds are graded GSM8K-style; LaTeX golds MATH-style
    assert list(out["dataset"]) == [
        "gsm8k", "gsm8k", "gsm8k", "math", "math", "gsm8k", "math", "gsm8k", "gsm8k", "gsm8k"
    ]
    assert out.loc[4, "correct"] and not out.loc[6, "correct"]


def test_bad_completion_tables(shared_verifier):
    df = completions()
    with pytest.raises(DDCFError, match="lacks the column"):
        grade_completions(df.drop(columns="gold"), verifier=shared_verifier, progress=False)
    with pytest.raises(DDCFError, match="duplicate"):
        grade_completions(pd.concat([df, df.iloc[:1]]), verifier=shared_verifier, progress=False)
    bad = df.copy()
    bad.loc[2, "gold"] = None
    with pytest.raises(DDCFError, match="empty 'gold'"):
        grade_completions(bad, verifier=shared_verifier, progress=False)


def test_write_verdicts_provenance(layout, shared_verifier):
    out = grade_completions(completions(), verifier=shared_verifier, progress=False)
    m1 = out[out["model"] == "m1"]
    path = write_verdicts(layout, "m1", m1, source="x.parquet", timeout=3.0)
    assert path == layout.verdicts("m1")
    back = pd.read_parquet(path)
    assert list(back.columns) == VERDICT_COLUMNS and len(back) == len(m1)
    meta = read_parquet_metadata(path)
    assert meta["verifier_version"] == verifier_version()
    assert meta["timeout_s"] == 3.0 and meta["source"] == "x.parquet" and meta["model"] == "m1"
    assert meta["n"] == len(m1) and meta["n_correct"] == int(m1["correct"].sum())
    fp = completions_fingerprint(m1)
    assert meta["question_ids_sha256"] == fp["question_ids_sha256"]
    assert meta["completions_sha256"] == fp["completions_sha256"]
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temporary file
    with pytest.raises(ValueError, match="contains rows of"):
        write_verdicts(layout, "m2", m1)


def test_fingerprint_is_order_independent_and_sensitive():
    df = completions()
    a = completions_fingerprint(df)
    assert completions_fingerprint(df.iloc[::-1]) == a
    changed = df.copy()
    changed.loc[0, "completion"] += " "
    assert completions_fingerprint(changed)["completions_sha256"] != a["completions_sha256"]
    assert completions_fingerprint(changed)["question_ids_sha256"] == a["question_ids_sha256"]


def test_summary():
    v = pd.DataFrame(
        {
            "model": ["a", "a", "a", "b"],
            "dataset": ["gsm8k", "math", "math", "math"],
            "correct": [True, True, False, False],
            "status": ["ok", "ok", "no_answer", "timeout"],
        }
    )
    s = summarize_verdicts(v).set_index("model")
    assert s.loc["a", "n"] == 3 and s.loc["a", "acc_gsm8k"] == 1.0 and s.loc["a", "acc_math"] == 0.5
    assert s.loc["a", "no_answer"] == 1 and s.loc["b", "timeouts"] == 1
    assert s.loc["ALL", "n"] == 4 and s.loc["ALL", "accuracy"] == 0.5
    text = format_summary(summarize_verdicts(v))
    assert "50.0%" in text and "ALL" in text
