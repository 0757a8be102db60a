"""The ``math`` answer type: numbers (GSM8K style) and LaTeX expressions (MATH style, math-verify).

Locations (:mod:`ddcf.verify.front`): MATH style trusts ``json``, ``boxed``, ``phrase``; GSM8K style
``json``, ``hash``, ``boxed``, ``phrase`` and, when none of them holds an answer, falls back to the last
number of the text (status 'fallback'; never in the JSON answer protocol, where a missing answer means the
output was cut off mid-reasoning).  These are exactly the extractors of the ``math`` / ``gsm8k`` chains of
:mod:`ddcf.verify.extract`, in the same order, so the verdicts on the bundled 88,090 rows are those the
leaderboard comparison was made with; fences and last lines are deliberately not read (a last line
such as "So she earns $18 a day." is the fallback's business).  Parsing a span: the inside of a
``\\boxed{}`` in it, without ``$``/``\\(\\)`` delimiters, not a placeholder ("___", "N/A").

The style comes from the row's dataset (``gsm8k*`` and the other numeric sets -> GSM8K style; anything
else -> MATH style), or from the gold when there is no dataset (:func:`ddcf.verify.gold.grading_style`).
Comparing needs the math-verify worker pool, time limits and the verify cache, so this type grades whole
tables (:func:`ddcf.verify.grade.grade_math`) instead of row by row.
"""

from __future__ import annotations

from ddcf.verify.answer_types import NOPARSE, AnswerType
from ddcf.verify.answer_types import read as _read
from ddcf.verify.extract import drop_placeholder, last_number, strip_math_delims, unbox
from ddcf.verify.gold import GSM8K, grading_style, normalize_gold

MATH_LOCATIONS = ("json", "boxed", "phrase")
GSM8K_LOCATIONS = ("json", "hash", "boxed", "phrase")


def clean(ans: str):
    """The answer text cleaned as the ``math`` chain's cleaners do, or NOPARSE."""
    for step in (unbox, strip_math_delims, drop_placeholder):
        ans = step(ans)
        if ans is None:
            return NOPARSE
    return ans


def parse(span, question: str = ""):
    return clean(span.text)


def _last_number(text: str, question: str = ""):
    got = last_number(text)
    if got is None:
        return None
    value = clean(got)
    return None if value is NOPARSE else (value, value)


def _gold(gold: str, question: str) -> str:
    return normalize_gold(gold, grading_style(None, gold))


ANSWER_TYPE = AnswerType("math", locations=MATH_LOCATIONS, parse=parse, gold=_gold, same=lambda p, g: p == g,
                         whole_table=True)
#: the GSM8K style: more locations and the last-number fallback
GSM8K_TYPE = AnswerType("math", locations=GSM8K_LOCATIONS, parse=parse, gold=_gold, same=lambda p, g: p == g,
                        fallback=_last_number, whole_table=True)


def read_style(completion, style: str):
    """The reading of ``completion`` in grading style ``style`` (gsm8k or math)."""
    return _read(GSM8K_TYPE if style == GSM8K else ANSWER_TYPE, completion)
