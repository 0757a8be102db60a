"""Answer types: how the final answer found in a completion is parsed and compared with the gold.

*Where* the answer is comes from the one extraction front, :mod:`ddcf.verify.front` (a JSON ``answer`` field,
an ``[ANSWER]`` tag, ``\\boxed{}``, ``####``, "The answer is ...", "The output is ...", a fenced block, the
last line), shared by every type.  A type is an :class:`AnswerType`: the front's ``locations`` it trusts, in
order; ``parse(span, question)`` -> a value or :data:`NOPARSE`; optionally a ``fallback`` on the whole text
when no span parses; ``gold(gold, question) -> key`` (raises :class:`BadGold` with the reason) and
``same(value, gold_key) -> bool``.  :func:`read` gives one completion's :class:`Reading` and its status:

* ``ok``: a span was found and parsed;
* ``fallback``: no span parsed; the type's fallback on the whole text found the answer (GSM8K: the last
  number; choice: "I choose D", a line that starts with its letter);
* ``unparsed``: a span was found at a marked location (not only a last line) but the type could not parse it;
* ``no_answer``: nothing was found.

Each row is graded by one type, chosen by :func:`ddcf.verify.answer_types.pick.resolve`: its ``answer_type``
column when present, else its dataset's default (:data:`DATASET_DEFAULTS`), else the verify stage's
``--answer_type``; ``auto`` picks a type per dataset from the gold values (``pick.auto_pick``).
:func:`ddcf.verify.grade.grade_rows` turns readings into verdict rows; ``math`` grades whole tables
(math-verify workers, cache, time limits).  Adding a type is one file here (a
module-level ``ANSWER_TYPE = AnswerType(...)``) plus one line in :data:`REGISTRY`.

Imports nothing heavy: the verify stage's ``--help`` lists :data:`REGISTRY`.
"""

from __future__ import annotations

import importlib
import math as _math
from dataclasses import dataclass
from typing import Any, Callable

from ddcf.errors import DDCFError
from ddcf.verify.front import GUESSES, Front
from ddcf.verify.gold import _NUMERIC_DATASETS

#: answer type -> (module defining ``ANSWER_TYPE``, one line for --help and errors)
REGISTRY: dict[str, tuple[str, str]] = {
    "math": ("ddcf.verify.answer_types.math", "numbers and LaTeX expressions (GSM8K / MATH grading styles)"),
    "choice": ("ddcf.verify.answer_types.choice", "a multiple-choice letter A-J; the gold is a letter or the "
                                                  "option's text"),
    "code_output": ("ddcf.verify.answer_types.code_output", "a Python literal, compared by value after safe "
                                                            "parsing (never executed)"),
    "exact": ("ddcf.verify.answer_types.exact", "a short string, compared after normalisation"),
}
AUTO = "auto"
#: dataset name (lower case) -> its answer type when the row names none
DATASET_DEFAULTS = {"gsm8k": "math", "math": "math", "choice": "choice"}


class BadGold(ValueError):
    """A gold answer this type cannot grade against; the message says why (it becomes the row's error)."""


class _NoParse:
    def __repr__(self) -> str:
        return "NOPARSE"


#: what ``parse`` returns for a span it cannot read (None is a value: the Python literal None)
NOPARSE = _NoParse()


@dataclass(frozen=True)
class Reading:
    """One completion read by one type: ``value`` (what ``same`` compares; NOPARSE when none), ``answer`` (the
    text shown in the verdict table's prediction column), where it was found, the status (module docstring)."""

    answer: str | None
    value: Any
    location: str
    status: str
    truncated: bool = False

    @property
    def method(self) -> str:  # the name ddcf.verify.extract.Extraction uses
        return self.location


@dataclass(frozen=True)
class AnswerType:
    name: str
    locations: tuple[str, ...]  # the front's locations this type trusts, most trusted first
    parse: Callable[[Any, str], Any]  # (front.Span, question) -> value, or NOPARSE
    gold: Callable[[str, str], Any]  # (gold, question) -> comparable key; raises BadGold
    same: Callable[[Any, Any], bool]  # (value, gold key) -> correct
    fallback: Callable[[str, str], Any] | None = None  # (front text, question) -> (answer text, value) or None
    # math: graded a whole table at a time (worker processes, cache, time limits: ddcf.verify.grade.grade_math);
    # the other types row by row (ddcf.verify.grade.grade_rows)
    whole_table: bool = False
    show_value: bool = False  # the prediction column shows the parsed value (a letter) instead of the span

    def read(self, completion, question: str = "", locations: tuple[str, ...] | None = None) -> Reading:
        return read(self, completion, question, locations)

    def extract(self, completion, question: str = "") -> Reading:
        """The same as :meth:`read` (the name earlier versions used)."""
        return read(self, completion, question)


def read(kind: AnswerType, completion, question: str = "", locations: tuple[str, ...] | None = None) -> Reading:
    """Find ``completion``'s final answer with the front and parse it as ``kind`` (see the module docstring)."""
    front = Front(completion)
    if front.empty:
        return Reading(None, NOPARSE, "empty", "no_answer")
    unparsed = None
    for span in front.spans(kind.locations if locations is None else locations):
        value = kind.parse(span, question)
        if value is not NOPARSE:
            shown = (str(value) if kind.show_value else span.text if span.raw is None or span.location == "json"
                     else span.raw.strip() or span.text)
            return Reading(shown, value, span.location, "ok", front.truncated)
        if unparsed is None and span.location not in GUESSES and span.text.strip():
            unparsed = span
    if kind.fallback is not None:
        got = kind.fallback(front.text, question)
        if got is not None:
            return Reading(got[0], got[1], "fallback", "fallback", front.truncated)
    if unparsed is not None:
        return Reading(unparsed.text, NOPARSE, unparsed.location, "unparsed", front.truncated)
    return Reading(None, NOPARSE, "none", "no_answer", front.truncated)


def known() -> str:
    return ", ".join(REGISTRY)


def check_name(name: str, where: str) -> str:
    """``name`` if it is a registered type (``auto`` allowed where ``where`` is the option), else a DDCFError."""
    if name in REGISTRY:
        return name
    raise DDCFError(
        f"{where} names the unknown answer type {name!r}.",
        f"use one of {known()} (see ddcf/verify/answer_types/; a new type is one file there plus a line in "
        "its REGISTRY).",
    )


def get(name: str, where: str = "the answer type") -> AnswerType:
    return importlib.import_module(REGISTRY[check_name(name, where)][0]).ANSWER_TYPE


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and _math.isnan(x)) or (isinstance(x, str) and not x.strip())


def dataset_default(dataset) -> str | None:
    """The answer type a dataset name implies (gsm8k*, math*, and the numeric sets of the math verifier)."""
    if _missing(dataset):
        return None
    d = str(dataset).strip().lower()
    if d in DATASET_DEFAULTS:
        return DATASET_DEFAULTS[d]
    if d in _NUMERIC_DATASETS or d.startswith(("gsm8k", "math")):
        return "math"
    return d if d in REGISTRY else None
