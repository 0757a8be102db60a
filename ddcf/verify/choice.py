r"""Multiple-choice answers (SAT-Math, MMLU-STEM, Gaokao's choice questions): the ``choice`` chain.

The chain finds the letter a completion settles on, trying in order:

1. ``choice_boxed``: the last ``\boxed{...}`` holding a letter: ``\boxed{B}``, ``\boxed{(B)}``,
   ``\boxed{\text{B}}``, ``\boxed{B) 4}``;
2. ``choice_phrase``: the last "the answer is (B)" / "Answer: b" / "the correct option is **C**" /
   "I choose D" (a lower-case letter counts only when no word follows it: "the answer is a multiple of 3"
   is no choice);
3. ``choice_paren``: the last ``(C)`` of the text, skipping lines that list several options (the model
   copying "(A)2 (B)4 (C)9 (D)10" is no answer);
4. ``choice_lead``: a completion that *starts* with its choice: "B) 4", "(C) 15+12i", "D. 10", "A".

The last explicit choice wins because models reason through the options ("(A) is wrong, ..., so the answer
is (C)").  Registered through :func:`ddcf.verify.extract.register_filter` / ``register_chain``; importing
this module registers it (:mod:`ddcf.evaluate` does).  :func:`grade_choices` grades a completions table into
the verifier's verdict columns: the prediction is the letter, correct when it equals the gold letter.
"""

from __future__ import annotations

import re

from ddcf.verify.extract import FilterChain, boxed, get_chain, register_chain, register_filter

LETTERS = "ABCDE"
CHAIN = "choice"
_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
# a letter as a whole token: "(B)", "B)", "B.", "B:", "B" at the end, "B " before a non-letter
_TOKEN = re.compile(r"^[\s*$`\"'{]*\(?\s*([A-Ea-e])\s*(?:\)|\.(?!\d)|:|,|\}|\*|\$|(?=\s|$))(?P<rest>.*)", re.DOTALL)
_HEAD = re.compile(
    r"(?:\banswer\b(?:\s+choice)?|\boption\b|\bchoice\b)\s*(?:is|would\s+be|should\s+be|=|:)?\s*:?"
    r"|\b(?:choose|select|pick)\b", re.IGNORECASE)
_FILLER = re.compile(r"^[\s*:$`]*(?:(?:the\s+)?(?:correct\s+)?(?:option|choice|letter)\s*)?", re.IGNORECASE)
_PAREN = re.compile(r"\(([A-E])\)")


def _letter(fragment: str, strict_lower: bool = True) -> str | None:
    """The choice letter ``fragment`` starts with, upper-cased, or None."""
    m = _TOKEN.match(_WRAP.sub(r"\1", fragment))
    if not m:
        return None
    letter = m.group(1)
    if letter.islower() and strict_lower and re.match(r"\s+[a-z]", m.group("rest")):
        return None  # "the answer is a multiple of ..." / "answer: a number"
    return letter.upper()


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
    return _letter(text.lstrip()[:200], strict_lower=True)


@register_filter("choice_letter", "clean")
def choice_letter(ans: str) -> str | None:
    """Keep only a single letter A-E (upper case)."""
    ans = ans.strip().upper()
    return ans if len(ans) == 1 and ans in LETTERS else None


register_chain(FilterChain(name=CHAIN, transforms=("cut_continuation",),
                           extractors=("choice_boxed", "choice_phrase", "choice_paren", "choice_lead"),
                           cleaners=("choice_letter",)))


def extract_choice(completion: str | None) -> str | None:
    """The letter a completion chooses, or None."""
    return get_chain(CHAIN)(completion).answer


def gold_letter(gold: str) -> str | None:
    """The gold's letter ("B", "(B)", " b "), or None when the gold is no letter."""
    return choice_letter(_letter(str(gold)) or "")


def grade_choices(df, **_ignored):
    """Verdict rows (:data:`ddcf.verify.grade.VERDICT_COLUMNS`) for a completions table of choice questions.

    Accepts (and ignores) the options of :func:`ddcf.verify.grade.grade_completions`: letters need no math
    checker, workers or time limit.
    """
    import pandas as pd

    from ddcf.verify.grade import VERDICT_COLUMNS

    preds, correct, status = [], [], []
    for comp, gold in zip(df["completion"].tolist(), df["gold"].astype(str).tolist()):
        ex = get_chain(CHAIN)(comp if isinstance(comp, str) else "")
        g = gold_letter(gold)
        preds.append(ex.answer)
        correct.append(ex.answer is not None and ex.answer == g)
        status.append("error" if g is None else "no_answer" if ex.answer is None
                      else "truncated" if ex.truncated else "ok")
    out = pd.DataFrame({
        "model": df["model"].astype(str).to_numpy(), "question_id": df["question_id"].astype(str).to_numpy(),
        "question": df["question"].astype(str).to_numpy(),
        "dataset": df["dataset"].astype(str).to_numpy() if "dataset" in df.columns else CHAIN,
        "completion": ["" if not isinstance(c, str) else c for c in df["completion"].tolist()],
        "prediction": pd.array(preds, dtype="string"), "gold": df["gold"].astype(str).to_numpy(),
        "correct": pd.array(correct, dtype="bool"), "status": status,
    }, columns=VERDICT_COLUMNS)
    return out
