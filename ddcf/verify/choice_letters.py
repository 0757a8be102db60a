r"""Multiple-choice answers (SAT-Math, MMLU(-Pro), Gaokao's choice questions): the letter rules and chains.

The ``choice`` answer type (:mod:`ddcf.verify.answer_types.choice`) finds the answer with the shared
extraction front and reads its letter with :func:`_letter`; when no span holds a letter it runs the
``choice_fallback`` chain (steps 2-5 below) on the whole text.  The full ``choice`` chain stays registered for
callers that want one chain.

The chain finds the letter (A-J) a completion settles on, trying in order:

0. ``choice_json``: the last ``"answer": "C"`` field of a JSON answer;
1. ``choice_boxed``: the last ``\boxed{...}`` holding a letter: ``\boxed{B}``, ``\boxed{(B)}``,
   ``\boxed{\text{B}}``, ``\boxed{B) 4}``;
2. ``choice_phrase``: the last "the answer is (B)" / "Answer: b" / "the correct option is **C**" /
   "I choose D" (a lower-case letter counts only when no word follows it: "the answer is a multiple of 3"
   is no choice);
3. ``choice_paren``: the last ``(C)`` of the text, skipping lines that list several options (the model
   copying "(A)2 (B)4 (C)9 (D)10" is no answer);
4. ``choice_lead``: a completion that *starts* with its choice: "B) 4", "(C) 15+12i", "D. 10", "A" (a letter
   followed by a word is no choice: "I think ...", "A cat ...");
5. ``choice_trailing``: a last line that is only a letter ("...\n\n**C**", "C.").

The last explicit choice wins because models reason through the options ("(A) is wrong, ..., so the answer
is (C)").  Registered through :func:`ddcf.verify.extract.register_filter` / ``register_chain``; importing
this module registers it (:mod:`ddcf.verify.answer_types.choice` does).  Reading a completion's letter is
:func:`ddcf.verify.answer_types.choice.extract_choice`; grading a table of them
:func:`ddcf.verify.grade.grade_choices`.  (Named choice_letters, not choice, so it is not confused with the
answer type module of that name.)
"""

from __future__ import annotations

import re

from ddcf.verify.extract import FilterChain, boxed, json_answer, register_chain, register_filter

LETTERS = "ABCDEFGHIJ"
CHAIN = "choice"
_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
# a letter as a whole token: "(B)", "B)", "B.", "B:", "B" at the end, "B " before a non-letter
_TOKEN = re.compile(r"^[\s*$`\"'{]*\(?\s*([A-Ja-j])\s*(?:\)|\.(?!\d)|:|,|\}|\*|\$|(?=\s|$))(?P<rest>.*)", re.DOTALL)
_HEAD = re.compile(
    r"(?:\banswer\b(?:\s+choice)?|\boption\b|\bchoice\b)\s*(?:is|would\s+be|should\s+be|=|:)?\s*:?"
    r"|\b(?:choose|select|pick)\b", re.IGNORECASE)
_FILLER = re.compile(r"^[\s*:$`]*(?:(?:the\s+)?(?:correct\s+)?(?:option|choice|letter)\s*)?", re.IGNORECASE)
_PAREN = re.compile(r"\(([A-J])\)")
_TRAILING = re.compile(r"^[\s*`$(\[{]*([A-J])[\s*`$)\]}.]*$")


def _letter(fragment: str, strict_lower: bool = True, strict_upper: bool = False) -> str | None:
    """The choice letter ``fragment`` starts with, upper-cased, or None."""
    text = _WRAP.sub(r"\1", fragment)
    m = _TOKEN.match(text)
    if not m:
        return None
    letter = m.group(1)
    if letter.islower() and strict_lower and re.match(r"\s+[a-z]", m.group("rest")):
        return None  # "the answer is a multiple of ..." / "answer: a number"
    if strict_upper and not text[m.end(1):m.start("rest")].strip() and re.match(r"\s+[A-Za-z]", m.group("rest")):
        return None  # a text that starts "I think ..." / "A cat ..." chooses nothing
    return letter.upper()


#: the letter rules and the "(X)" pattern, for the choice answer type's parser
letter = _letter
PAREN = _PAREN


@register_filter("choice_json", "extract")
def choice_json(text: str) -> str | None:
    """The letter of the last JSON ``"answer"`` field ({"answer": "C"}, {"final_answer": "(B)"})."""
    val = json_answer(text)
    return _letter(val) if val is not None else None


@register_filter("choice_boxed", "extract")
def choice_boxed(text: str) -> str | None:
    """The letter in the last ``\\boxed{...}`` that holds one."""
    inner = boxed(text)
    return _letter(inner) if inner is not None else None


@register_filter("choice_phrase", "extract")
def choice_phrase(text: str) -> str | None:
    """The letter after the last "answer is" / "Answer:" / "option" / "choose"."""
    for m in reversed(list(_HEAD.finditer(text))):
        rest = text[m.end(): m.end() + 80]
        rest = _FILLER.sub("", rest, count=1)
        letter = _letter(rest)
        if letter is not None:
            return letter
    return None


@register_filter("choice_paren", "extract")
def choice_paren(text: str) -> str | None:
    """The last ``(X)`` on a line that names only one option."""
    for line in reversed(text.splitlines()):
        found = _PAREN.findall(line)
        if found and len(set(found)) == 1:
            return found[-1]
    return None


@register_filter("choice_lead", "extract")
def choice_lead(text: str) -> str | None:
    """A completion that starts with its choice ("B) 4", "(C) 15+12i", "A")."""
    return _letter(text.lstrip()[:200], strict_lower=True, strict_upper=True)


@register_filter("choice_trailing", "extract")
def choice_trailing(text: str) -> str | None:
    """A last non-empty line that holds nothing but an upper-case letter ("**C**", "(D)", "B.")."""
    lines = [ln for ln in text[-2000:].splitlines() if ln.strip()]
    m = _TRAILING.match(lines[-1]) if lines else None
    return m.group(1) if m else None


@register_filter("choice_letter", "clean")
def choice_letter(ans: str) -> str | None:
    """Keep only a single letter A-J (upper case)."""
    ans = ans.strip().upper()
    return ans if len(ans) == 1 and ans in LETTERS else None


register_chain(FilterChain(name=CHAIN, transforms=("cut_continuation",),
                           extractors=("choice_json", "choice_boxed", "choice_phrase", "choice_paren", "choice_lead",
                                       "choice_trailing"),
                           cleaners=("choice_letter",)))


#: what the ``choice`` answer type reads when no span of the extraction front holds a letter
FALLBACK_CHAIN = "choice_fallback"
register_chain(FilterChain(name=FALLBACK_CHAIN, transforms=(),
                           extractors=("choice_phrase", "choice_paren", "choice_lead", "choice_trailing"),
                           cleaners=("choice_letter",)))


def gold_letter(gold: str) -> str | None:
    """The gold's letter ("B", "(B)", " b "), or None when the gold is no letter."""
    return choice_letter(_letter(str(gold)) or "")
