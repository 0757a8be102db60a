"""The multiple-choice letter chain (SAT-Math, MMLU-STEM, Gaokao) on real-looking model outputs."""

import pytest

from ddcf.verify.answer_types.choice import extract_choice
from ddcf.verify.choice_letters import gold_letter
from ddcf.verify.extract import CHAINS, extract_answer
from ddcf.verify.grade import grade_choices

# (completion, expected letter); written like Qwen2.5-Math / R1-distill outputs on SAT and MMLU-STEM
CASES = [
    ("$x-1 = 9$, so $x = 10$.\n\nThe answer is (D)", "D"),
    ("Adding real and imaginary parts gives $-1+12i$.\n\nTherefore, the final answer is $\\boxed{A}$.", "A"),
    ("B) 4", "B"),
    ("Answer: b", "B"),
    ("(C) 15+12i", "C"),
    ("\\boxed{\\text{(D)}}", "D"),
    ("The correct answer is: **C**", "C"),
    ("(A) gives 8, which is too big. (B) gives 2. Checking (C): 24 / 6 = 4, which matches.\n"
     "So the answer is (C).", "C"),
    ("Option (A) is wrong since the degree is 4.\nOption (B) is right.", "B"),
    ("Answer Choices: (A)2 (B)4 (C)9 (D)10\nWe have x = 10.\nI choose D.", "D"),
    ("<think>\nThe index is 120/5 = 24.\n</think>\n\nThe answer is $\\boxed{C}$", "C"),
    ("So the answer is a multiple of 3, which rules out (A). Final answer: (B)", "B"),
]


@pytest.mark.parametrize("text,letter", CASES)
def test_real_formats(text, letter):
    assert extract_choice(text) == letter


@pytest.mark.parametrize("text", [
    "Answer Choices: (A)2 (B)4 (C)9 (D)10",  # only the copied option list
    "the answer is a multiple of 3",
    "",
    "The final answer is $\\boxed{15+12i}$.",  # a value, not a letter
])
def test_no_choice(text):
    assert extract_choice(text) is None


def test_registered_through_the_public_api():
    assert "choice" in CHAINS
    assert extract_answer("The answer is (B)", "choice").method == "choice_phrase"
    assert extract_answer("so \\boxed{B}", "choice").method == "choice_boxed"


def test_grade_choices_table():
    import pandas as pd

    df = pd.DataFrame({"model": "m", "question_id": ["q1", "q2", "q3"], "question": "x",
                       "gold": ["B", "(C)", "D"], "completion": ["The answer is (B)", "Answer: a", "no idea"]})
    out = grade_choices(df)
    assert out["correct"].tolist() == [True, False, False]
    assert out["prediction"].tolist()[:2] == ["B", "A"]
    assert out["status"].tolist() == ["ok", "ok", "no_answer"]
    assert gold_letter(" c ") == "C" and gold_letter("12") is None
