r"""The ``exact`` answer type: a short string (a name, a word, a label), compared after normalisation.

The candidate is the last JSON ``"answer"`` field, else the last ``\boxed{...}``, else the last "The answer
is X" / "Answer: X" (:func:`ddcf.verify.extract.answer_phrase`), else a last line of at most 100 characters.
Normalisation: Unicode NFKC, case folded, markdown/quote/``\text{}`` wrappers and a final period removed,
whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata

from ddcf.verify.answer_types import AnswerType, BadGold
from ddcf.verify.extract import SCAN_CHARS, Extraction, answer_phrase, boxed, json_answer

_TEXT = re.compile(r"\\(?:text|textbf|mathrm)\s*\{([^{}]*)\}")


def normalise(text: str) -> str:
    t = unicodedata.normalize("NFKC", _TEXT.sub(r"\1", str(text)))
    t = re.sub(r"\s+", " ", t).strip()
    prev = None
    while prev != t:
        prev = t
        t = t.strip(" *_`\"'$").rstrip(".").strip()
    return t.casefold()


def _extract(completion: str, question: str) -> Extraction:
    text = completion if isinstance(completion, str) else ""
    truncated = len(text) > SCAN_CHARS
    text = text[-SCAN_CHARS:]
    for name, fn in (("json_answer", json_answer), ("boxed", boxed), ("answer_phrase", answer_phrase)):
        got = fn(text)
        if got is not None and normalise(got):
            return Extraction(got.strip(), name, truncated)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and len(lines[-1]) <= 100 and normalise(lines[-1]):
        return Extraction(lines[-1], "last_line", truncated)
    return Extraction(None, "none", truncated)


def _gold(gold: str, question: str) -> str:
    key = normalise(gold)
    if not key:
        raise BadGold("it is empty after normalisation")
    return key


ANSWER_TYPE = AnswerType("exact", extract=_extract, gold=_gold, same=lambda p, g: normalise(p) == g)
