r"""The ``choice`` answer type: a multiple-choice letter A-J (MMLU, MMLU-Pro, SAT, ARC, ...).

Where the answer is comes from the extraction front (:mod:`ddcf.verify.front`): the JSON ``answer`` field
(``{"answer": "C"}``, ``{"answer": "(C) 15"}``), an ``[ANSWER]`` tag, ``\boxed{C}``, "The answer is (C)", a
fenced block, else a last line that starts with its letter ("B) 4", "**C**"; not a line listing several
options).  Parsing a span is the letter rules of :mod:`ddcf.verify.choice_letters` (a lower-case letter followed by a
word is no choice: "the answer is a multiple of 3").  When no span holds a letter, the ``choice_fallback``
chain reads the whole text ("I choose D", "the correct option is C", the last "(C)" of a line naming one
option, a completion that starts with its letter) and the row's status is 'fallback'.

The gold may be a letter ("C", "(c)") or the text of an option; option texts are read from the question
("A. 4\nB. 9", "(A) 4 (B) 9", "A) 4").  A gold that is neither a letter of the listed options nor one option's
text makes that row status 'error' (the reason goes to the run's warnings) instead of failing the whole table:
one bad row of a large benchmark should not cost the rest.
"""

from __future__ import annotations

import re

from ddcf.verify import choice_letters as chain
from ddcf.verify.answer_types import NOPARSE, AnswerType, BadGold
from ddcf.verify.extract import get_chain

# An option marker at a line start or after whitespace: "(A) ", "A. ", "A) ", "A: ".
_MARKER = re.compile(r"(?:^|(?<=\s))(?:\(([A-J])\)|([A-J])[.):])[ \t]*", re.MULTILINE)


def options(question: str) -> dict[str, str]:
    """The options listed in ``question`` as {letter: text}: the last run of markers A, B, C, ... in order."""
    found = [(m.group(1) or m.group(2), m.start(), m.end()) for m in _MARKER.finditer(question or "")]
    best: list = []
    run: list = []
    for f in found:
        if f[0] == "A":
            run = [f]
        elif run and ord(f[0]) == ord(run[-1][0]) + 1:
            run.append(f)
        else:
            continue
        if len(run) >= 2 and len(run) >= len(best):
            best = list(run)
    out = {}
    for k, (letter, _, end) in enumerate(best):
        stop = best[k + 1][1] if k + 1 < len(best) else len(question)
        out[letter] = question[end:stop].split("\n", 1)[0].strip()
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"^\$(.*)\$$", r"\1", text.strip())).strip(" .").casefold()


def gold_letter(gold: str, question: str) -> str:
    """The gold's letter: a letter of the listed options, or the letter of the option whose text it is."""
    opts = options(question)
    letter = chain.gold_letter(gold)
    if letter is not None and len(str(gold).strip()) <= 3 + 2 * str(gold).count("*"):
        if opts and letter not in opts:
            raise BadGold(f"{letter} is not one of the question's options ({', '.join(opts)})")
        return letter
    if opts:
        want = _norm(str(gold))
        hits = [k for k, v in opts.items() if _norm(v) == want]
        if len(hits) == 1:
            return hits[0]
        raise BadGold("it is neither a letter nor the text of exactly one option listed in the question "
                      f"({', '.join(f'{k}. {v[:20]}' for k, v in opts.items())})")
    raise BadGold("it is not a letter A-J and the question lists no options to match its text against")


LOCATIONS = ("json", "tag", "boxed", "phrase", "fence", "last_line")


def parse(span, question: str = ""):
    """The letter a front span names, or NOPARSE."""
    text = span.raw if span.fenced else span.text
    if span.location == "last_line":
        if len(set(chain.PAREN.findall(text))) > 1 or len(options(text)) > 1:
            return NOPARSE  # the model copying the option list chooses nothing
        letter = chain.letter(text, strict_lower=True, strict_upper=True)
    else:
        letter = chain.letter(text)
    return NOPARSE if letter is None else letter


def _fallback(text: str, question: str = ""):
    got = get_chain(chain.FALLBACK_CHAIN)(text).answer
    return None if got is None else (got, got)


ANSWER_TYPE = AnswerType("choice", locations=LOCATIONS, parse=parse, gold=gold_letter, same=lambda p, g: p == g,
                         fallback=_fallback, show_value=True)


def extract_choice(completion: str | None) -> str | None:
    """The letter a completion chooses (this type's reading), or None."""
    value = ANSWER_TYPE.read(completion).value
    return None if value is NOPARSE else value
