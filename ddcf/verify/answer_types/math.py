"""The ``math`` answer type: today's verifier, unchanged (GSM8K-style numbers, MATH-style LaTeX).

The grading style comes from the row's dataset (``gsm8k*`` and the other numeric sets -> GSM8K style with
the last-number fallback; anything else -> MATH style, math-verify), or from the gold when there is no
dataset (:func:`ddcf.verify.gold.grading_style`).  Grading needs the math-verify worker pool, time limits
and the verify cache, so this type grades whole tables (:func:`ddcf.verify.grade.grade_math`) instead of
row by row.
"""

from __future__ import annotations

from ddcf.verify.answer_types import AnswerType
from ddcf.verify.extract import get_chain
from ddcf.verify.gold import grading_style, normalize_gold


def _extract(completion: str, question: str):
    return get_chain("math")(completion)


def _gold(gold: str, question: str) -> str:
    return normalize_gold(gold, grading_style(None, gold))


def _grade(df, **options):
    from ddcf.verify.grade import grade_math

    return grade_math(df, **options)


ANSWER_TYPE = AnswerType("math", extract=_extract, gold=_gold, same=lambda p, g: p == g, grade=_grade)
