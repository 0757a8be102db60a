r"""The one extraction front: *where* a completion's final answer is, for every answer type.

A completion is read once into a :class:`Front`; each *location* is a named way of finding a final answer,
shared by all answer types:

=============  ===========================================================================================
``json``       the last ``"answer"`` / ``"final_answer"`` field of a JSON object, read leniently (invalid
               escapes, an unterminated object, single quotes, an unquoted Python literal as the value),
               inside a ```` ```json ```` fence or not; placeholders ("___", "N/A") are skipped
``json_value`` as ``json``, but only the prompt template's own blank (``"___"``) is skipped: for code output
               ``"[]"``, ``"-"``, ``"..."`` and spaces are real answers, not placeholders (its spans say ``json``)
``tag``        the last ``[ANSWER] ... [/ANSWER]`` or ``<answer> ... </answer>`` (CRUXEval, R1-style prompts)
``boxed``      the last non-empty ``\boxed{...}`` / ``\fbox{...}``
``hash``       the last ``#### X`` (GSM8K)
``phrase``     the last "The (final) answer is X" / "Answer: X"
``output``     the last "The output is X" / "Output: X" / "returns X" / "the result is X"
``fence``      the last fenced block (with or without a language tag) that holds no JSON answer field
``last_line``  the last non-empty line outside fence markers (a guess: see :data:`GUESSES`)
=============  ===========================================================================================

Each answer type lists the locations it trusts, in the order it trusts them (``AnswerType.locations``), and
says only how to *parse* a :class:`Span` found there and how to compare it with the gold; the first span the
type can parse is its answer.  A type never reads the whole completion, except through its named
``fallback`` when no span parses, and then the row's status says so ('fallback', or 'no_answer' /
'unparsed' when even that finds nothing).

Before any location is searched the front cuts off an invented follow-up question
(:func:`ddcf.verify.extract.cut_continuation`) and keeps only the last ``SCAN_CHARS`` characters.
Locations are computed lazily and once per completion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ddcf.verify.extract import (
    _PHRASE,
    FILTERS,
    SCAN_CHARS,
    _phrase_value,
    cut_continuation,
    is_placeholder,
    json_answer_items,
)

#: every location, in the default order of trust (a type that does not care uses this order)
LOCATIONS = ("json", "json_value", "tag", "boxed", "hash", "phrase", "output", "fence", "last_line")
#: locations that are a guess, not a marked answer: a span there that the type cannot parse does not make the
#: row 'unparsed' (every completion has a last line; "I don't know" is no answer, not a format problem)
GUESSES = frozenset({"last_line"})


@dataclass(frozen=True)
class Span:
    """One candidate final answer.

    ``text``: the answer as found (a JSON string's decoded content; a phrase's value up to the sentence end,
    without ``$``/quotes/``**`` around it).  ``raw``: the same place as written, where that differs (a phrase:
    the rest of its line, quotes kept, or the fenced block right after "The answer is:"; a JSON value: its
    text including quotes).  ``quoted``: a JSON value written as a quoted string (``"answer": "[1, 2]"``);
    False for a bare value (``"answer": [1, 2]``) and for every other location.
    """

    text: str
    location: str
    raw: str | None = None
    quoted: bool = False
    fenced: bool = False  # a phrase whose raw value is the fenced block after it ("The answer is:\n```\n[1]\n```")


_TAG = re.compile(r"\[ANSWER\](.*?)\[/ANSWER\]|<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_TAG_OPEN = re.compile(r"\[ANSWER\]|<answer>", re.IGNORECASE)
# A fence: ``` then a language tag only when a newline follows it (```[1, 2]``` has no tag), then the body.
_FENCE = re.compile(r"```(?:[ \t]*[\w+.#-]+[ \t]*\r?\n|[ \t]*\r?\n)?(.*?)```", re.DOTALL)
_JSON_KEY = re.compile(r"""["'](?:final_)?answer["']\s*:""")
_OUTPUT = re.compile(
    r"(?:\b(?:the\s+)?(?:final\s+)?(?:output|result|return\s+value)\b(?:\s+(?:of\s+[^\n]{0,80}?|will\s+be|would\s+be))?"
    r"\**+\s*+(?:is|=|:)|\breturns?\b)\**+[ \t]*+:?[ \t]*+(?P<rest>[^\n]{0,300})",
    re.IGNORECASE,
)
_FENCE_AFTER = re.compile(r"\s*```(?:[ \t]*[\w+.#-]+[ \t]*\r?\n|[ \t]*\r?\n)?(.*?)```", re.DOTALL)


class Front:
    """One completion, read for answer spans.  ``empty``: nothing but whitespace; ``truncated``: only the last
    ``SCAN_CHARS`` characters were read; ``text``: what the locations search (continuation cut)."""

    def __init__(self, completion) -> None:
        text = completion if isinstance(completion, str) else ""
        self.empty = not text or text.isspace()
        self.truncated = len(text) > SCAN_CHARS
        if self.truncated:
            text = text[-SCAN_CHARS:]
        self.text = cut_continuation(text) if not self.empty else ""
        self._found: dict[str, Span | None] = {}

    def span(self, location: str) -> Span | None:
        """The span at ``location`` (None: nothing there), computed once."""
        if location not in self._found:
            self._found[location] = None if self.empty else _LOCATORS[location](self.text)
        return self._found[location]

    def spans(self, locations):
        """The spans at ``locations``, in that order, skipping locations with nothing."""
        for loc in locations:
            s = self.span(loc)
            if s is not None:
                yield s


# ---------------------------------------------------------------------------- locators
def _json(text: str) -> Span | None:
    """The last non-placeholder answer value; else an explicit empty string ``"answer": ""`` (a real answer for
    code output whose value is ``''``; types that need text reject it)."""
    if "nswer" not in text:
        return None
    items = json_answer_items(text)
    for val, quoted in reversed(items):
        if not is_placeholder(val):
            return Span(val, "json", raw=val, quoted=quoted)
    if items and items[-1] == ("", True):
        return Span("", "json", raw="", quoted=True)
    return None


_TEMPLATE_BLANK = re.compile(r"^\s*_{2,}\s*$")


def _json_value(text: str) -> Span | None:
    """The last answer value that is not the template's blank: the ZeroEval-style prompt shows ``"answer": "___"``,
    so only that is skipped; everything else the model wrote there (``[]``, ``-``, ``''``) is its answer."""
    if "nswer" not in text:
        return None
    for val, quoted in reversed(json_answer_items(text)):
        if not _TEMPLATE_BLANK.match(val):
            return Span(val, "json", raw=val, quoted=quoted)
    return None


def _tag(text: str) -> Span | None:
    if not _TAG_OPEN.search(text):
        return None
    found = [m.group(1) if m.group(1) is not None else m.group(2) for m in _TAG.finditer(text)]
    for val in reversed(found):
        if val.strip():
            return Span(val.strip(), "tag")
    return None


# boxed and #### go through the filter registry, so a filter replaced there (a test, a plugin) is the one used
def _boxed(text: str) -> Span | None:
    got = FILTERS["boxed"].fn(text)
    return None if got is None else Span(got, "boxed")


def _hash(text: str) -> Span | None:
    got = FILTERS["hash_answer"].fn(text)
    return None if got is None else Span(got, "hash")


def _raw_after(text: str, end: int, rest: str) -> tuple[str, bool]:
    """What follows a phrase as written, and whether it is a fenced block: the fenced block right after it
    ("The answer is:\\n```\\n[1]\\n```"), else the rest of the line."""
    if not rest.strip(" \t:*") or rest.lstrip().startswith("```"):
        m = _FENCE_AFTER.match(text, end - len(rest))
        if m:
            return m.group(1).strip(), True
    return rest.strip(), False


_ANSWER_WORD = re.compile(r"\banswer\b", re.IGNORECASE)


def _phrase(text: str) -> Span | None:
    """As :func:`ddcf.verify.extract.answer_phrase` (the last non-placeholder one), plus its raw rest of line.

    Every "answer" is tried, from the last: "the answer is C... no. The answer is B." has two on one line, and
    the later one is the model's answer (``answer_phrase`` alone reads such a line as one match, "C")."""
    if "nswer" not in text and "NSWER" not in text:
        return None
    for w in reversed(list(_ANSWER_WORD.finditer(text))[-200:]):
        m = _PHRASE.match(text, w.start())
        if m is None:
            continue
        val = _phrase_value(m.group("rest"))
        if val and not is_placeholder(val):
            raw, fenced = _raw_after(text, m.end(), m.group("rest"))
            return Span(val, "phrase", raw=raw, fenced=fenced)
    return None


def _output(text: str) -> Span | None:
    for m in reversed(list(_OUTPUT.finditer(text))):
        rest = m.group("rest")
        raw, fenced = _raw_after(text, m.end(), rest)
        if not fenced:
            raw = raw.strip(" \t:*")  # the colon of "returns:" is no answer
        val = _phrase_value(rest) if rest.strip(" \t:*") and not fenced else None
        if raw and not is_placeholder(raw):
            return Span(val or raw, "output", raw=raw, fenced=fenced)
    return None


def _fence(text: str) -> Span | None:
    if "```" not in text:
        return None
    for m in reversed(list(_FENCE.finditer(text))):
        body = m.group(1).strip()
        if body and not _JSON_KEY.search(body):
            return Span(body, "fence")
    return None


def _last_line(text: str) -> Span | None:
    for line in reversed(text[-4000:].splitlines()):
        s = line.strip()
        if s and not s.startswith("```"):
            return Span(s, "last_line")
    return None


_LOCATORS = {"json": _json, "json_value": _json_value, "tag": _tag, "boxed": _boxed, "hash": _hash, "phrase": _phrase,
             "output": _output, "fence": _fence, "last_line": _last_line}
assert set(_LOCATORS) == set(LOCATIONS)
