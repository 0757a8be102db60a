import pytest

from ddcf.verify.gold import GSM8K, MATH, grading_style, normalize_gold
from ddcf.verify.normalize import lenient_number, normalize_latex, strict_number


@pytest.mark.parametrize(
    "gold, want",
    [("# 18", "18"), ("#### 18", "18"), ("# 1,450,000", "1450000"), ("18", "18"), (" # -3 ", "-3"), ("# 2.50", "2.5")],
)
def test_gsm8k_gold(gold, want):
    assert normalize_gold(gold, GSM8K) == want


@pytest.mark.parametrize(
    "gold, want",
    [
        ("\\frac{1}{2}", "\\frac{1}{2}"),
        ("$\\frac{1}{2}$", "\\frac{1}{2}"),
        ("\\boxed{(-\\infty, 3]}", "(-\\infty, 3]"),
        ("1112112_3", "1112112_3"),  # kept as written; the comparison normalises the base subscript
    ],
)
def test_math_gold(gold, want):
    assert normalize_gold(gold, MATH) == want


def test_grading_style():
    assert grading_style("gsm8k", "# 18") == GSM8K
    assert grading_style("math", "18") == MATH  # a named dataset wins over the gold's look
    assert grading_style("svamp", "18") == GSM8K
    assert grading_style(None, "# 18") == GSM8K
    assert grading_style(None, "42") == GSM8K
    assert grading_style("", "\\frac{1}{2}") == MATH
    assert grading_style(float("nan"), "x^2+1") == MATH


def test_number_normalisation():
    assert lenient_number("$1,200") == 1200
    assert lenient_number("18 dollars") == 18
    assert lenient_number("25%") == 25
    assert lenient_number("5 * 4 = 20") == 20
    assert lenient_number("\\$18.00") == 18
    assert lenient_number("no digits") is None
    assert strict_number("\\frac{3}{4}") == strict_number("3/4") == strict_number("0.75")
    assert strict_number("-\\frac{1}{2}") == -strict_number("0.5")
    assert strict_number("0.\\overline{3}") * 3 == 1
    assert strict_number("2\\frac{1}{4}") == strict_number("2.25")  # a mixed number
    assert strict_number("x+1") is None and strict_number("10\\%") is None
    assert normalize_latex("\\dfrac{1}{2}") == normalize_latex("\\frac 1 2".replace(" 1 2", "{1}{2}"))
    assert normalize_latex("\\left( 1, 2 \\right)") == "(1,2)"
    assert normalize_latex("\\pi r^2") == "\\pi r^2"  # the space between letters matters in LaTeX
    assert normalize_latex("30^\\circ") == "30"
    assert normalize_latex("$1,200") == "1,200"  # a lone $ is currency
    assert normalize_latex("1112112₃") == normalize_latex("1112112_{3}") == "1112112"
