"""Nothing lost, nothing silently wrong (issue 15): the verify stage's failure classes.

* an expression answer is compared as what it is, never by its last number (item 6);
* one row that breaks extraction or normalisation gets status 'error', the rest are graded (item 8);
* extraction is linear and bounded, whatever the completion (item 9);
* non-text table content is a clear error or an unambiguous conversion (item 10), empty questions are refused;
* a killed run keeps the checks it made in the verify cache (item 14).
"""

import json
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.infer import main
from ddcf.layout import Layout
from ddcf.verify import extract
from ddcf.verify.equivalence import Verifier, fast_verdict, gold_key, prediction_key
from ddcf.verify.extract import SCAN_CHARS, extract_answer
from ddcf.verify.grade import VERDICT_STATUSES, grade_completions
from ddcf.verify.normalize import is_expression, lenient_number


def table(rows, dataset="gsm8k"):
    """(gold, completion) pairs -> a completions table of one model."""
    return pd.DataFrame({
        "model": "m", "question_id": [f"q/{i}" for i in range(len(rows))], "question": "a question",
        "gold": [g for g, _ in rows], "completion": [c for _, c in rows], "dataset": dataset,
    })


# ------------------------------------------------------------------------------- item 6: last number
EXPRESSIONS_WRONG = [  # (gold, answer): the last number of the answer is the gold, the answer is not
    ("9", "\\boxed{9^{9^{9^{9^9}}}}"),
    ("10", "\\boxed{2^{10}}"),
    ("2", "\\boxed{\\sqrt{2}}"),
    ("3", "\\boxed{x+3}"),
    ("3", "#### x + 3"),
    ("3", "The answer is 2x+3."),
    ("160", '{"answer": "160 - r"}'),
    ("5", '{"answer": "4750 / x"}'),
]


def test_expression_answers_are_not_reduced_to_their_last_number():
    for gold, completion in EXPRESSIONS_WRONG:
        pred = extract_answer(completion, "gsm8k").answer
        assert is_expression(pred) and lenient_number(pred) is None, pred
        gk = gold_key(gold, "gsm8k")
        key = prediction_key(pred, "gsm8k", gk)
        v = fast_verdict(key, gk, "gsm8k")
        assert v is None or not v.correct, (pred, v)  # never decided correct; the rest is math-verify's


def test_expression_answers_are_graded_as_what_they_are(shared_verifier):
    rows = [(g, c) for g, c in EXPRESSIONS_WRONG if "9^" not in c]  # the tower only costs a timeout
    right = [("1024", "\\boxed{2^{10}}"), ("45", '{"answer": "27+18"}'), ("4", '{"answer": "8-4"}'),
             ("42", "#### 42"), ("42", "The answer is 42")]
    out = grade_completions(table(rows + right), verifier=shared_verifier, progress=False)
    assert list(out["correct"]) == [False] * len(rows) + [True] * len(right)
    assert set(out["status"]) == {"ok"}


def test_free_text_numbers_units_and_results_still_count():
    # the last-number rule stays for prose, and a number with its unit or the result after "=" is the number
    for text, value in [("18 dollars", 18), ("$25,000/year", 25000), ("55 m/s", 55), ("5 pounds/day", 5),
                        ("135 kilowatt-hours", 135), ("Jack has $120 now", 120), ("5 * 4 = 20", 20),
                        ("63 - 8 - 40 = 15", 15), ("\\frac{3}{4} cups", 0.75), ("25%", 25), ("-5", -5)]:
        assert lenient_number(text) == value, text
    assert extract_answer("She has 3 apples and buys 4 more, so 7 in all", "gsm8k").answer == "7"


# ------------------------------------------------------------------------------- item 8: one bad row
def test_numbers_beyond_the_int_conversion_limit_are_graded(shared_verifier):
    big = "9" * 4990
    rows = [("9", "\\boxed{" + big + "}"), ("1", "#### " + "1" * 10_000), ("9", '{"answer": "' + big + '"}'),
            (big, "#### " + big), ("18", "#### 18")]
    out = grade_completions(table(rows), verifier=shared_verifier, progress=False)
    assert list(out["correct"]) == [False, False, False, True, True]
    # the 4,990-digit JSON value is longer than the JSON reader takes: the last-number fallback reads it
    assert list(out["status"]) == ["ok", "ok", "fallback", "ok", "ok"]
    math = grade_completions(table([("9", "\\boxed{" + big + "}")], "math"), verifier=shared_verifier,
                             progress=False)
    assert not math["correct"].any()


def test_any_exception_in_one_row_marks_it_error_and_the_rest_is_graded(shared_verifier, monkeypatch):
    real = extract.FILTERS["boxed"]

    def explode(text):
        if "EXPLODE" in text:
            raise ZeroDivisionError("a bug on an odd input")
        return real.fn(text)

    monkeypatch.setitem(extract.FILTERS, "boxed", extract.Filter("boxed", "extract", explode))
    out = grade_completions(table([("1", "\\boxed{1}"), ("2", "EXPLODE \\boxed{2}"), ("3", "#### 3")]),
                            verifier=shared_verifier, progress=False)
    assert list(out["status"]) == ["ok", "error", "ok"]
    assert list(out["correct"]) == [True, False, True]
    assert out.attrs["row_errors"] == [(1, "ZeroDivisionError: a bug on an odd input")]


def test_a_failing_fast_path_is_an_error_verdict(monkeypatch):
    from ddcf.verify import equivalence

    def broken(*a):
        raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")

    monkeypatch.setattr(equivalence, "fast_verdict", broken)
    v = Verifier(timeout=1, workers=1, progress=False)
    try:
        assert v.check([("1", "1", "gsm8k"), ("2", "1", "gsm8k")]) == [
            equivalence.Verdict(False, "error", "fast-path")] * 2
        assert v.stats.errors == 2
    finally:
        v.close()


def test_the_stage_goes_on_and_says_which_row_failed(tmp_path, capsys, monkeypatch):
    from ddcf.verify import grade

    real = grade.prediction_key

    def key(pred, style, gk):
        if pred == "666":
            raise RuntimeError("boom")
        return real(pred, style, gk)

    monkeypatch.setattr(grade, "prediction_key", key)
    df = pd.concat([table([("1", "#### 1"), ("6", "#### 666")]),
                    table([("1", "#### 1"), ("6", "#### 6")]).assign(model="n")])
    path = tmp_path / "c.parquet"
    df.to_parquet(path)
    assert main(["--completions", str(path), "--workdir", str(tmp_path / "w"), "--no_progress"]) == 0
    out = capsys.readouterr().out
    assert "1 row(s) could not be graded" in out and "'q/1'" in out and "RuntimeError: boom" in out
    layout = Layout(tmp_path / "w")
    assert list(pd.read_parquet(layout.verdicts("m"))["status"]) == ["ok", "error"]
    assert list(pd.read_parquet(layout.verdicts("n"))["correct"]) == [True, True]


# ------------------------------------------------------------------------------- item 9: bounded scan
MB = 3_000_000
PATHOLOGICAL = {
    "json keys": '"answer": "' * (MB // 11),
    "single-quoted keys": "'answer': '" * (MB // 11),
    "escaped keys": '\\"answer\\": \\"' * (MB // 15),
    "open objects": '"answer": {' * (MB // 11),
    "bare values": '"answer": 5' * (MB // 11),
    "open boxes": "\\boxed{" * (MB // 7),
    "answer phrase then blank lines": "The answer is" + " \n" * (MB // 2),
    "hash then newlines": "####" + "\n" * MB,
    "digits": "9" * MB,
    "headings without an answer": "\n## Question:" * (MB // 13),
    "quotes": '"answer": "x' + ('"' + " " * 1000) * (MB // 1001),
    "letters and rates": "ab/" * (MB // 3),
    "spaces then a dash": "1" + " " * MB + "x",
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_extraction_is_bounded_on_pathological_completions(name):
    text = PATHOLOGICAL[name]
    assert len(text) > 2_000_000
    t = time.perf_counter()
    for chain in ("math", "gsm8k"):
        ex = extract_answer(text, chain)
        assert ex.truncated
        if ex.answer is not None:
            prediction_key(ex.answer, chain, gold_key("5", chain))
    assert time.perf_counter() - t < 5.0, name


def test_long_completions_are_marked_truncated(shared_verifier):
    tail = "#### 18"
    rows = [("18", "x" * SCAN_CHARS + tail), ("18", "#### 18 " + "y" * SCAN_CHARS), ("18", tail)]
    out = grade_completions(table(rows), verifier=shared_verifier, progress=False)
    assert list(out["status"]) == ["truncated", "truncated", "ok"]
    assert list(out["correct"]) == [True, False, True]  # the answer in the tail counts; one before it is not read
    assert set(out["status"]) <= set(VERDICT_STATUSES)


# ------------------------------------------------------------------------------- item 10: non-text cells
def write_binary_completions(path, completions):
    cols = {"model": ["m"] * len(completions), "question_id": [f"q/{i}" for i in range(len(completions))],
            "question": ["a question"] * len(completions), "gold": ["# 18"] * len(completions)}
    t = pa.table({**{k: pa.array(v, pa.string()) for k, v in cols.items()},
                  "completion": pa.array(completions, pa.binary())})
    pq.write_table(t, path)


def run_err(argv, capsys):
    code = run_main(main, argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    return " ".join(err.split())


def test_non_utf8_bytes_in_a_parquet_column_name_file_column_and_row(tmp_path, capsys):
    path = tmp_path / "bin.parquet"
    write_binary_completions(path, [b"#### 18", b"#### 1\xff8"])
    err = run_err(["--completions", str(path), "--workdir", str(tmp_path / "w")], capsys)
    assert str(path) in err and "'completion'" in err and "row 1" in err and "not valid UTF-8" in err


def test_utf8_bytes_are_decoded_and_graded(tmp_path):
    path = tmp_path / "bin.parquet"
    write_binary_completions(path, ["#### 18".encode(), "#### 1,8 — 18".encode()])
    assert main(["--completions", str(path), "--workdir", str(tmp_path / "w"), "--no_progress"]) == 0
    v = pd.read_parquet(Layout(tmp_path / "w").verdicts("m"))
    assert list(v["completion"]) == ["#### 18", "#### 1,8 — 18"] and v["correct"].all()


@pytest.mark.parametrize("column, value", [("completion", ["#### 18"]), ("gold", {"a": 1}), ("question", [1, 2])])
def test_lists_and_dicts_are_refused(column, value):
    df = table([("# 18", "#### 18"), ("# 18", "#### 18")])
    df[column] = df[column].astype(object)
    df.at[1, column] = value
    with pytest.raises(DDCFError, match=f"non-text content in column '{column}' \\(row 1: a (list|dict)"):
        grade_completions(df, progress=False)


def test_numeric_columns_are_read_as_text(tmp_path):
    path = tmp_path / "c.csv"
    pd.DataFrame({"model": ["m", "m"], "question_id": [1, 2], "question": ["a", "b"], "gold": [18, 7],
                  "completion": ["#### 18", 7]}).to_csv(path, index=False)
    assert main(["--completions", str(path), "--workdir", str(tmp_path / "w"), "--no_progress"]) == 0
    v = pd.read_parquet(Layout(tmp_path / "w").verdicts("m"))
    assert list(v["question_id"]) == ["1", "2"] and v["correct"].all()


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_empty_questions_are_refused_at_load(tmp_path, capsys, question):
    df = table([("# 1", "#### 1"), ("# 2", "#### 2")])
    df.loc[1, "question"] = question
    path = tmp_path / "c.parquet"
    df.to_parquet(path)
    err = run_err(["--completions", str(path), "--workdir", str(tmp_path / "w")], capsys)
    assert "1 row(s) with an empty 'question'" in err and str(path) in err
    assert not Layout(tmp_path / "w").verdicts_dir.exists()


# ------------------------------------------------------------------------------- item 14: kept checks
KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    from ddcf.verify import workers as verify_workers
    from ddcf.verify.equivalence import Verifier

    pairs, kill_after = {pairs}, {kill_after}
    real_run = verify_workers.MathVerifyWorkers.run

    def run(self, work, on_result=None):
        done = []

        def hook(i, out):
            on_result(i, out)
            done.append(i)
            if len(done) == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no final save: a real kill

        return real_run(self, work, on_result=hook)

    verify_workers.MathVerifyWorkers.run = run
    v = Verifier(timeout=5, workers=1, progress=False, cache_path=sys.argv[1])
    v.flush_every_s = 0  # no minimum interval (only the "10x a save" rule): the first result is kept at once
    v.check([(p, g, "math") for p, g in pairs])
""")

NEEDS_MATH_VERIFY = [("\\sqrt{12}", "2\\sqrt{3}"), ("\\frac{\\pi}{2}", "\\pi/2"), ("x^2+2x+1", "(x+1)^2"),
                     ("\\sqrt{8}", "2\\sqrt{2}"), ("(-\\infty,3)", "(-\\infty,3]"), ("\\sqrt{18}", "3\\sqrt{2}")]


def test_a_killed_run_keeps_its_checks_and_the_rerun_skips_them(tmp_path):
    assert all(fast_verdict(p, g, "math") is None for p, g in NEEDS_MATH_VERIFY)
    cache = tmp_path / "verify_cache.parquet"
    script = KILLED_RUN.format(pairs=json.dumps(NEEDS_MATH_VERIFY), kill_after=3)
    proc = subprocess.run([sys.executable, "-c", script, str(cache)], capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert cache.exists(), "the killed run left no verify cache"
    kept = set(zip(*pd.read_parquet(cache, columns=["pred", "gold"]).to_dict("list").values()))
    finished = set(sorted(NEEDS_MATH_VERIFY)[:3])  # one worker checks the pairs in sorted order
    assert 1 <= len(kept) <= 3 and kept <= finished

    with Verifier(timeout=5, workers=1, progress=False, cache_path=cache) as v:
        v.check([(p, g, "math") for p, g in NEEDS_MATH_VERIFY])
        assert v.stats.cache_hits == len(kept)
        assert v.stats.math_verify == len(NEEDS_MATH_VERIFY) - len(kept)
