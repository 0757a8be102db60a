r"""The ``exact`` answer type: a short string (a name, a word, a label), compared after normalisation.

Where the answer is comes from the extraction front (:mod:`ddcf.verify.front`): the JSON ``answer`` field,
an ``[ANSWER]`` tag, ``\boxed{}``, ``####``, "The answer is X" / "Answer: X", a fenced block, else a last line
of at most 100 characters.  Normalisation: Unicode NFKC, case folded, markdown/quote/``\text{}`` wrappers and a
final period removed, whitespace collapsed; an answer that is empty after it does not parse.
"""

from __future__ import annotations

import re
import unicodedata

from ddcf.verify.answer_types import NOPARSE, AnswerType, BadGold

LOCATIONS = ("json", "tag", "boxed", "hash", "phrase", "fence", "last_line")
MAX_LAST_LINE = 100
_TEXT = re.compile(r"\\(?:text|textbf|mathrm)\s*\{([^{}]*)\}")


def normalise(text: str) -> str:
    t = unicodedata.normalize("NFKC", _TEXT.sub(r"\1", str(text)))
    t = re.sub(r"\s+", " ", t).strip()
    prev = None
    while prev != t:
        prev = t
        t = t.strip(" *_`\"'$").rstrip(".").strip()
    return t.casefold()


def parse(span, question: str = ""):
    if span.location == "last_line" and len(span.text) > MAX_LAST_LINE:
        return NOPARSE  # a long last line is a sentence of reasoning, not a short answer
    key = normalise(span.raw if span.fenced else span.text)
    return key if key else NOPARSE


def _gold(gold: str, question: str) -> str:
    key = normalise(gold)
    if not key:
        raise BadGold("it is empty after normalisation")
    return key


def same(value, gold_key) -> bool:
    return isinstance(value, str) and normalise(value) == gold_key


ANSWER_TYPE = AnswerType("exact", locations=LOCATIONS, parse=parse, gold=_gold, same=same)
