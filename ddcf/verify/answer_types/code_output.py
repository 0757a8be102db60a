r"""The ``code_output`` answer type: a Python literal ("what does this code print/return?", CRUXEval-style).

Where the answer is comes from the extraction front (:mod:`ddcf.verify.front`), in this order: the JSON
``answer`` field, an ``[ANSWER]`` tag, ``\boxed{}``, "The answer is X", "The output is X" / "returns X",
a fenced block, the last line.  So ``{"reasoning": ..., "answer": "[1, 2]"}`` is graded on ``[1, 2]``, never on
the whole JSON object.

Parsing a span, never executing it: the text (without surrounding backticks, ``**`` and trailing ``,;.``) is
read with :func:`ast.literal_eval`, which accepts literals (numbers, strings, bytes, tuples, lists, dicts,
sets, True/False/None) and refuses names, calls, attribute access and operators, so
``__import__('os').system(...)`` is no literal and is rejected.  ``assert f(...) == X`` and ``f(...) == X`` give
X (the statement is parsed with :func:`ast.parse`, which builds a syntax tree and runs nothing).  A candidate
longer than :data:`MAX_CHARS` or nested deeper than :data:`MAX_DEPTH` is refused before parsing.

What a JSON answer field means:

* a quoted string (``"answer": "[1, 2]"``, ``"answer": "'abc'"``, ``"answer": "abc"``): either the literal its
  content spells or the string itself, whichever equals the gold (JSON answers are strings; the content
  ``abc`` of ``"answer": "abc"`` is the string ``'abc'``);
* a bare value (``"answer": [1, "a"]``, ``"answer": true``): read as JSON first, then as a Python literal.

A **string gold** is also matched by the answer's text itself (except a bare JSON value: ``"answer": 12`` is a
number), with stray quotes around it stripped, or written with the gold's escapes: ``"answer": "'-'"``,
``"-"`` or ``"'-"`` for ``'-'``, and ``t\nZA`` for ``'t\nZA'`` (models often write a string's source form
without its quotes, or break its quoting; the CRUXEval harness compares quote-stripped strings).  Other golds
are compared by value only: ``'20'`` is not ``20``.

Comparison is by value (``==``) with two rules: a bool never equals a number (``True`` is not ``1`` in
printed output), and **tuples vs lists**: a tuple gold is matched by a list at the same place only when the
answer is a bare JSON value (JSON has no tuple syntax: ``"answer": [1, "a"]`` for ``(1, 'a')``); everywhere
else a list never equals a tuple, as in Python (``[1, 'a'] == (1, 'a')`` is False), and a list gold never
accepts a tuple.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from dataclasses import dataclass

from ddcf.verify.answer_types import NOPARSE, AnswerType, BadGold
from ddcf.verify.front import Span

MAX_CHARS = 100_000
MAX_DEPTH = 50
LOCATIONS = ("json_value", "tag", "boxed", "phrase", "output", "fence", "last_line")
_OPEN, _CLOSE = "([{", ")]}"
_WRAP = re.compile(r"^(?:\*\*|__|`+)(.*?)(?:\*\*|__|`+)$", re.DOTALL)
_HAS_EQ = re.compile(r"==")


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


def _bounded(text) -> bool:
    return isinstance(text, str) and bool(text.strip()) and len(text) <= MAX_CHARS and _depth(text) <= MAX_DEPTH


def safe_literal(text: str):
    """The value of the Python literal ``text`` (a trailing ``# comment`` is allowed), or NOTHING."""
    if not _bounded(text):
        return NOTHING
    try:
        with warnings.catch_warnings():  # "1e" or "3x" in an answer: a SyntaxWarning per row otherwise floods the log
            warnings.simplefilter("ignore", SyntaxWarning)
            return ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOTHING


def _compared(text: str):
    """X of ``assert f(...) == X`` / ``f(...) == X`` (the source of X), or None; parsed, never run."""
    if not _HAS_EQ.search(text) or not _bounded(text):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text.strip())
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if len(tree.body) != 1:
        return None
    node = tree.body[0]
    test = node.test if isinstance(node, ast.Assert) else node.value if isinstance(node, ast.Expr) else None
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return None
    return ast.get_source_segment(text.strip(), test.comparators[0])


def _unwrap(text: str) -> str:
    t = text.strip()
    if not t.strip("*_`"):
        return t  # "*****" is an answer made of stars, not bold around "*"
    prev = None
    while prev != t:
        prev = t
        m = _WRAP.match(t)
        if m:
            t = m.group(1).strip()
    return t


def literal_of(text: str):
    """The literal ``text`` spells, tolerating the forms real outputs use, or NOTHING."""
    if not isinstance(text, str):
        return NOTHING
    t = _unwrap(text)
    rhs = _compared(t)
    if rhs is not None:
        t = rhs
    for cand in (t.rstrip(" \t,;.") or t, t):  # "[1, 2]," and "'abc'." end a sentence; "1." is still a number
        v = safe_literal(cand)
        if v is not NOTHING:
            return v
    if len(t) > 2 and t[0] == t[-1] and t[0] in "'\"":  # "'{'a': 1}'": a literal wrapped in quotes that break it
        return literal_of(t[1:-1])
    return NOTHING


@dataclass(frozen=True)
class CodeAnswer:
    """The values a span may mean (``same`` is True when any equals the gold) and whether a list may stand for
    a tuple (a bare JSON value)."""

    values: tuple
    json_bare: bool = False
    texts: tuple = ()  # the span's text as written (for a string gold: see the module docstring)


def parse(span: Span, question: str = ""):
    """The :class:`CodeAnswer` of a front span, or NOPARSE."""
    values: list = []
    if span.location == "json" and not span.quoted:
        try:
            if _bounded(span.text):
                values.append(json.loads(span.text))
        except (ValueError, RecursionError):
            pass
        v = literal_of(span.text)
        if v is not NOTHING:
            values.append(v)
        return CodeAnswer(tuple(values), json_bare=True) if values else NOPARSE  # bare 12 is an int, not '12'
    texts = [span.text] if span.raw is None or span.raw == span.text else [span.raw, span.text]
    for t in texts:
        v = literal_of(t)
        if v is not NOTHING:
            values.append(v)
            break
    if values and isinstance(values[0], str) and values[0] != span.text:
        # "answer": "\"['a']\"": the string spells a container literal once more (a quoted '20' stays a string)
        inner = literal_of(values[0])
        if isinstance(inner, (list, tuple, dict, set)):
            values.append(inner)
    if span.quoted:
        values.append(span.text)  # "answer": "abc" is the string 'abc'
    texts = tuple(dict.fromkeys(t for t in texts if isinstance(t, str) and t.strip()))
    return CodeAnswer(tuple(values), texts=texts) if values or (span.location == "json" and texts) else NOPARSE


def _gold(gold: str, question: str):
    value = safe_literal(gold)
    if value is NOTHING:
        raise BadGold("it is not a Python literal (write strings quoted, e.g. 'abc'; literals only, at most "
                      f"{MAX_CHARS:,} characters and {MAX_DEPTH} levels of nesting)")
    return value


def _canon(v, lists_as_tuples: bool = False):
    """A form in which == also tells bools from numbers (and lists from tuples), recursively."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (list, tuple)):
        kind = "tuple" if lists_as_tuples else type(v).__name__
        return (kind, tuple(_canon(x, lists_as_tuples) for x in v))
    if isinstance(v, dict):
        return ("dict", frozenset((_canon(k, lists_as_tuples), _canon(x, lists_as_tuples)) for k, x in v.items()))
    if isinstance(v, (set, frozenset)):
        return ("set", frozenset(_canon(x, lists_as_tuples) for x in v))
    return v


def _match(value, gold, json_bare: bool) -> bool:
    """``value == gold`` by the rules of the module docstring."""
    if isinstance(gold, tuple) and json_bare and isinstance(value, list):
        return len(value) == len(gold) and all(_match(v, g, json_bare) for v, g in zip(value, gold))
    if isinstance(gold, (list, tuple)) and type(value) is type(gold):
        return len(value) == len(gold) and all(_match(v, g, json_bare) for v, g in zip(value, gold))
    if isinstance(gold, dict) and isinstance(value, dict):
        if json_bare and any(isinstance(k, tuple) for k in gold):
            return False  # JSON keys are strings: a tuple key cannot be written
        return set(map(_key, value)) == set(map(_key, gold)) and all(
            _match(value[k], gold[g], json_bare) for k in value for g in gold if _key(k) == _key(g))
    try:
        return _canon(value) == _canon(gold)
    except TypeError:  # an unhashable value inside a set cannot be in a literal; be safe anyway
        return False


def _key(k):
    try:
        return _canon(k)
    except TypeError:
        return repr(k)


def same(answer, gold_value) -> bool:
    """True when ``answer`` (a :class:`CodeAnswer`, or a string read as a last line) equals the gold value."""
    if isinstance(answer, str):
        answer = parse(Span(answer, "last_line"))
    if not isinstance(answer, CodeAnswer):
        return False
    if any(_match(v, gold_value, answer.json_bare) for v in answer.values):
        return True
    return isinstance(gold_value, str) and _same_string(answer.texts, gold_value)


def _same_string(texts, gold: str) -> bool:
    """A string gold against the answer's text as written: itself, the gold's escaped source (``repr`` without
    its quotes), or either with stray quotes stripped from both ends."""
    forms = {gold, repr(gold)[1:-1]}
    forms |= {f.strip("'\"") for f in forms}
    for t in texts:
        s = _unwrap(t)
        if s in forms or s.strip("'\"") in forms:
            return True
    return False


ANSWER_TYPE = AnswerType("code_output", locations=LOCATIONS, parse=parse, gold=_gold, same=same)
