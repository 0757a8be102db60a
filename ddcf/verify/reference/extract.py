"""The released answer extraction (``extract_answer`` of eval/parser.py, ``data_name='math'``).

Priority (after a JSON ``"answer"`` field, which only this project reads: :func:`json_answer`): a Minerva
"final answer is $...$. I hope" sentence; else the text after the *last* "boxed"
(its balanced ``{...}``, or up to the next ``$`` for ``\\boxed 5``); else what follows the last "he answer
is" / "final answer is" (to the end of the completion); else the first Chinese "答案是" paragraph; else, only
with ``last_number`` (the released evaluation; stage 1 passes ``use_last_number=False``), the last number
in the text.  The result goes through :func:`ddcf.verify.reference.strip.strip_answer`.

The released evaluation extracts with ``data_name='math'`` for every benchmark, choice ones included (a
choice gold is then matched by :func:`ddcf.verify.reference.equal.math_equal`'s letter rule).
"""

from __future__ import annotations

import re

from ddcf.verify.extract import cut_continuation
from ddcf.verify.extract import json_answer as project_json_answer
from ddcf.verify.reference.strip import strip_answer

_LAST_NUMBER = re.compile(r"-?\d*\.?\d+")


def json_answer(text: str) -> str | None:
    """The JSON ``"answer"`` field, read by the project's lenient reader (:func:`ddcf.verify.extract.json_answer`,
    after its cut of an invented follow-up); None if there is none.

    Not in the released code (its prompts ask for ``\\boxed{}``, it never saw this format): the bundled seed
    completions (ZeroEval) put their answer there, so it is read first and the released clean-up and
    comparison are applied to it.  The same reader as the strict grader's, so the two graders differ in how
    they compare, not in where they look.
    """
    return project_json_answer(cut_continuation(text))


_NEWLINE_INDENT = re.compile(r"\n\s*")


def _after_last_boxed(text: str) -> str:
    tail = text.split("boxed")[-1]
    if not tail:
        return ""
    if tail[0] != "{":
        return tail.split("$")[0].strip()
    depth, out = 1, []
    for c in tail[1:]:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        out.append(c)
    return "".join(out)


def from_field(field: str) -> str:
    """A JSON answer field's answer: its last ``\\boxed{}`` when it has one, else the whole field."""
    return _after_last_boxed(field) if "boxed" in field else field


def raw_answer(text: str, last_number: bool = False) -> str:
    """The answer text before clean-up ("" when none is found)."""
    text = text.replace("\u043a\u0438", "")  # a step tag ("ки") of some math reward-model data
    field = json_answer(text)
    if field is not None:
        return from_field(field)
    if "final answer is $" in text and "$. I hope" in text:
        return text.split("final answer is $", 1)[1].split("$. I hope", 1)[0].strip()
    if "boxed" in text:
        return _after_last_boxed(text)
    for cue in ("he answer is", "final answer is"):
        if cue in text:
            return text.split(cue)[-1].strip()
    if "答案是" in text:
        return text.split("答案是")[1].strip().split("\n\n")[0].strip()
    if last_number:
        found = _LAST_NUMBER.findall(text.replace(",", ""))
        return found[-1] if found else ""
    return ""


def extract_answer(text: str, last_number: bool = False) -> str:
    """The released ``extract_answer(text, use_last_number=last_number)``; "" means no answer."""
    return clean_answer(raw_answer(text, last_number))


def clean_answer(pred: str) -> str:
    """The released clean-up of a found answer: line breaks, a leading ':', a trailing '.' or '/', then
    :func:`ddcf.verify.reference.strip.strip_answer`."""
    pred = _NEWLINE_INDENT.sub("", pred)
    if pred.startswith(":"):
        pred = pred[1:]
    for end in (".", "/"):
        if pred.endswith(end):
            pred = pred[:-1]
    return strip_answer(pred)


def reference_gold(gold: str) -> str:
    """The gold as the released code held it: GSM8K's ``# 18`` / ``#### 18`` as ``18``; ``np.arcsin`` as ``\\arcsin``.

    The released seed table stores GSM8K golds as bare numbers; the bundled ZeroEval table writes ``# 18``,
    which the released comparison would never match.  The evaluation's gold fix-up (``np.arcsin``) is applied
    everywhere: it only touches golds written as Python.
    """
    g = str(gold)
    m = re.fullmatch(r"\s*#+\s*(.+?)\s*", g, re.DOTALL)
    if m:
        g = m.group(1)
    return g.replace("np.arcsin", "\\arcsin")
