"""Answer types (ddcf/verify/answer_types/) on real-looking and adversarial outputs, and their routing."""

import time

import pandas as pd
import pytest

from ddcf.errors import DDCFError
from ddcf.verify import answer_types as AT
from ddcf.verify.answer_types import pick
from ddcf.verify.answer_types.choice import options
from ddcf.verify.answer_types.code_output import NOTHING, safe_literal
from ddcf.verify.grade import grade_completions

Q4 = "Which planet is largest?\nA. Mars\nB. Jupiter\nC. Venus\nD. Earth"


def pred(kind, text, question=Q4):
    value = AT.get(kind).read(text, question).value
    return None if value is AT.NOPARSE else value


@pytest.mark.parametrize("text,letter", [
    ("Jupiter is a gas giant.\n\nThe answer is (B)", "B"),
    ("\\boxed{B}", "B"),
    ('{"reasoning": "gas giants are large", "answer": "B"}', "B"),
    ("B) Jupiter", "B"),
    ("Mars is small (A is wrong), so the answer is (B). Let me double-check: yes.", "B"),
    ("Answer: A\nWait, Mars is smaller. Actually the answer is C... no. The answer is B.", "B"),
    ("Jupiter has the most mass.\n\n**B**", "B"),
    ("Options F through J are absent; the answer is (J)", "J"),
])
def test_choice_real(text, letter):
    assert pred("choice", text) == letter


@pytest.mark.parametrize("text", [
    "I think Jupiter is the largest planet.",  # "I" is a word, not option I
    "Because Jupiter is big",  # a letter inside a word
    "The answer is Jupiter",
])
def test_choice_no_letter(text):
    assert pred("choice", text) is None


def test_choice_options_and_golds():
    assert options(Q4) == {"A": "Mars", "B": "Jupiter", "C": "Venus", "D": "Earth"}
    assert options("Pick: (A) 2 (B) 4 (C) 9") == {"A": "2", "B": "4", "C": "9"}
    kind = AT.get("choice")
    assert kind.gold("B", Q4) == kind.gold("(b)", Q4) == kind.gold("Jupiter", Q4) == kind.gold(" jupiter. ", Q4) == "B"
    for bad in ("F", "Saturn"):
        with pytest.raises(AT.BadGold):
            kind.gold(bad, Q4)


CODE_OK = [
    ("The function returns the pairs sorted.\n```python\n[(1, 'a'), (2, 'b')]  # sorted by key\n```\nDone.",
     "[(1, 'a'), (2, 'b')]"),
    ('{"answer": "[1, 2, 3]"}', "[1, 2, 3]"),
    ("Output: 'it\\'s \"quoted\"'", "'it\\'s \"quoted\"'"),
    ("First I thought [1].\nThe output is [1, 2]\nThat is because the loop runs twice.", "[1, 2]"),
    ("\\boxed{{'a': (1, None)}}", "{'a': (1, None)}"),
]


@pytest.mark.parametrize("text,gold", CODE_OK)
def test_code_output_by_value(text, gold):
    kind = AT.get("code_output")
    got = kind.read(text, "")
    assert got.status == "ok" and kind.same(got.value, kind.gold(gold, ""))


def test_code_output_values_and_refusals(tmp_path):
    kind = AT.get("code_output")
    assert not kind.same("1", kind.gold("True", ""))  # a bool is no number in printed output
    assert not kind.same("[1, 2]", kind.gold("(1, 2)", ""))
    assert kind.same("{2, 1}", kind.gold("{1, 2}", ""))
    marker = tmp_path / "pwned"
    evil = f"__import__('os').system('touch {marker}')"
    assert safe_literal(evil) is NOTHING
    assert kind.read(f"The output is {evil}", "").value is AT.NOPARSE
    assert kind.read(f"```python\n{evil}\n```", "").status == "unparsed"
    assert not marker.exists()  # never run
    with pytest.raises(AT.BadGold):
        kind.gold(evil, "")
    with pytest.raises(AT.BadGold):
        kind.gold("[" * 10_000 + "]" * 10_000, "")  # nesting refused before the parser recurses
    t0 = time.perf_counter()
    big = "[" + ", ".join(["1"] * 400_000) + "]"  # a 1.2 MB literal
    assert kind.read(f"The output is {big}", "").value is AT.NOPARSE
    with pytest.raises(AT.BadGold):
        kind.gold(big, "")
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("text,gold", [
    ('{"answer": "Paris"}', "paris"),
    ("The capital is Paris.\n\nThe answer is **Paris**.", "Paris"),
    ("\\boxed{\\text{Paris}}", "PARIS"),
    ("Lyon? No.\nParis", "Paris"),
])
def test_exact(text, gold):
    kind = AT.get("exact")
    assert kind.same(kind.read(text, "").value, kind.gold(gold, ""))


def test_unknown_type_and_resolution():
    with pytest.raises(DDCFError) as e:
        pick.resolve(["choise"], [None])
    assert "answer_type" in str(e.value) and "code_output" in str(e.value)
    with pytest.raises(DDCFError):
        pick.resolve([None], ["mmlu"], default="nope")
    assert pick.resolve([None, None, None, "exact", None], ["gsm8k", "math", "mmlu", "gsm8k", "choice"],
                      default="choice") == ["math", "math", "choice", "exact", "choice"]
    assert pick.resolve([None], ["mmlu"]) == ["math"]  # auto keeps today's behaviour


def test_grade_mixed_table_keeps_order_and_reports_bad_golds():
    rows = [
        ("q1", Q4, "B", "The answer is (B)", "choice"),
        ("q2", "What is 2+3?", "5", "2+3=5. The final answer is $\\boxed{5}$.", None),
        ("q3", "print(sorted([3, 1]))", "[1, 3]", "```\n[1, 3]\n```", "code_output"),
        ("q4", Q4, "F", "The answer is (F)", "choice"),
        ("q5", "Capital of France?", "Paris", "Answer: Lyon", "exact"),
    ]
    df = pd.DataFrame(rows, columns=["question_id", "question", "gold", "completion", "answer_type"]).assign(model="m")
    out = grade_completions(df, workers=1, progress=False)
    assert list(out["question_id"]) == ["q1", "q2", "q3", "q4", "q5"]
    assert list(out["correct"]) == [True, True, True, False, False]
    assert list(out["status"]) == ["ok", "ok", "ok", "error", "ok"]
    (row, msg), = out.attrs["row_errors"]
    assert row == 3 and "not one of the question's options" in msg


def test_verify_stage_grades_choice_with_the_option(tmp_path, capsys):
    from ddcf.layout import Layout
    from ddcf.verify.cli import command

    src = tmp_path / "mmlu.csv"
    pd.DataFrame({"model": "m", "question_id": ["q1", "q2", "q3"], "question": [Q4, Q4, Q4],
                  "gold": ["B", "Jupiter", "Pluto"],
                  "completion": ["The answer is (B)", "A) Mars", "The answer is (B)"]}).to_csv(src, index=False)
    args = ["--completions", str(src), "--workdir", str(tmp_path / "w"), "--no_progress", "--workers", "1"]
    assert command.main(args + ["--answer_type", "choice"]) == 0
    v = pd.read_parquet(Layout(tmp_path / "w").verdicts("m"))
    assert list(v["correct"]) == [True, False, False] and list(v["status"]) == ["ok", "ok", "error"]
    assert "Pluto" in capsys.readouterr().out  # the bad gold is named in the warnings
    with pytest.raises(SystemExit) as e:  # argparse names the option and the known types
        command.main(args + ["--answer_type", "nope"])
    assert e.value.code == 2 and "code_output" in capsys.readouterr().err


def test_choice_prompt_is_zero_shot_and_math_prompt_unchanged():
    from ddcf.generate import prompts as P

    text = P.prompt_text(Q4, "choice", 0)
    assert text.startswith("Problem:\n" + Q4) and P.CHOICE_INSTRUCTION in text and text.endswith("Solution:\n")
    assert P.prompt_text(Q4, "mmlu", 0, answer_type="choice") == text
    assert P.prompt_kind("mmlu") == "math" and P.prompt_kind("gsm8k_test") == "gsm8k"
    assert P.prompt_text("Q?", "math", 4) == P.fewshot_text("Q?", P.MATH_EXEMPLARS)
