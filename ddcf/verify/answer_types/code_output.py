r"""The ``code_output`` answer type: a Python literal ("what does this code print/return?", CRUXEval-style).

The prediction and the gold are parsed with :func:`ast.literal_eval` only, never executed and never passed
to ``eval``: literal_eval accepts literals (numbers, strings, bytes, tuples, lists, dicts, sets, True/False/
None) and refuses names, calls, attribute access and operators, so ``__import__('os').system(...)`` is no
literal and is rejected.  Before parsing, a candidate longer than :data:`MAX_CHARS` or nested deeper than
:data:`MAX_DEPTH` is refused too (the parser's time and recursion are bounded by the input).

The candidate is, in order: the last fenced code block, the last JSON ``"answer"`` field, the last
``\boxed{...}``, the last "answer is X" / "Output: X" line, the last non-empty line.  Values compare with
``==`` except that a bool never equals a number (``True`` is not ``1`` in printed output).
"""

from __future__ import annotations

import ast
import re

from ddcf.verify.answer_types import AnswerType, BadGold
from ddcf.verify.extract import SCAN_CHARS, Extraction, boxed, json_answer_values

MAX_CHARS = 100_000
MAX_DEPTH = 50
_FENCE = re.compile(r"```[ \t]*[\w+-]*[ \t]*\n(.*?)\n?[ \t]*```", re.DOTALL)
_LINE = re.compile(r"^[ \t>*]*(?:the\s+)?(?:final\s+)?(?:answer|output|result|returns?)\b\**\s*(?:is|=|:)\**"
                   r"[ \t]*(?P<v>\S[^\n]*)", re.IGNORECASE | re.MULTILINE)
_OPEN, _CLOSE = "([{", ")]}"


def _depth(text: str) -> int:
    """Bracket nesting outside quotes, roughly: enough to refuse what would recurse the parser deeply."""
    depth = best = 0
    for ch in text:
        if ch in _OPEN:
            depth += 1
            best = max(best, depth)
        elif ch in _CLOSE:
            depth -= 1
    return best


class _Nothing:
    """No literal here (a distinct sentinel: None is a literal)."""


NOTHING = _Nothing()


def safe_literal(text: str):
    """The value of the Python literal ``text`` (a trailing ``# comment`` is allowed), or NOTHING."""
    if not isinstance(text, str):
        return NOTHING
    text = text.strip()
    if not text or len(text) > MAX_CHARS or _depth(text) > MAX_DEPTH:
        return NOTHING
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOTHING


def _candidates(text: str) -> list[str]:
    """Candidate answer strings, the most explicit first (the last of each kind: models correct themselves)."""
    out = []
    fences = _FENCE.findall(text)
    if fences:
        out.append(fences[-1])
    out += list(reversed(json_answer_values(text)))[:1]
    box = boxed(text)
    if box is not None:
        out.append(box)
    lines = list(_LINE.finditer(text))
    if lines:
        v = lines[-1].group("v").strip().strip("`")
        out += [v, v.rstrip(".")]
    rest = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("```")]
    if rest:
        out.append(rest[-1].strip("`"))
    return out


def _extract(completion: str, question: str) -> Extraction:
    text = completion if isinstance(completion, str) else ""
    truncated = len(text) > SCAN_CHARS
    text = text[-SCAN_CHARS:]
    for cand in _candidates(text):
        if safe_literal(cand) is not NOTHING:
            return Extraction(cand.strip(), "literal", truncated)
    return Extraction(None, "none", truncated)


def _gold(gold: str, question: str):
    value = safe_literal(gold)
    if value is NOTHING:
        raise BadGold("it is not a Python literal (write strings quoted, e.g. 'abc'; literals only, at most "
                      f"{MAX_CHARS:,} characters and {MAX_DEPTH} levels of nesting)")
    return value


def _canon(v):
    """A form in which == also tells bools from numbers, recursively."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, tuple(_canon(x) for x in v))
    if isinstance(v, dict):
        return ("dict", frozenset((_canon(k), _canon(x)) for k, x in v.items()))
    if isinstance(v, (set, frozenset)):
        return ("set", frozenset(_canon(x) for x in v))
    return v


def same(prediction: str, gold_value) -> bool:
    value = safe_literal(prediction)
    if value is NOTHING:
        return False
    try:
        return _canon(value) == _canon(gold_value)
    except TypeError:  # an unhashable value inside a set/dict key cannot be in a literal; be safe anyway
        return False


ANSWER_TYPE = AnswerType("code_output", extract=_extract, gold=_gold, same=same)
