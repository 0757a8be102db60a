"""Surface statistics of a question's text, a side input of the factor predictor (``--text_features``).

A sentence embedding says what a question is about, much less how hard it is; how long it is, how many
numbers it carries, how much LaTeX it uses do (measured on held-out questions of the bundled matrix: mean
per-model AUC up by about 0.01 with them, see the README's predictor table).  They are computed the same
way for seed and corpus questions from the text alone, so they need no annotation.  The list is part of
the trained predictor (its config records ``TEXT_FEATURES``); changing it means retraining.
"""

from __future__ import annotations

import re

import numpy as np

from ddcf.errors import DDCFError

TEXT_FEATURES = (
    "log_chars", "log_words", "log_numbers", "log_longest_number", "log_latex_commands", "log_dollars",
    "log_operators", "log_sentences",
)
TEXT_FEATURES_VERSION = 1

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LATEX = re.compile(r"\\[A-Za-z]+")
_OPERATORS = re.compile(r"[-+*/^=%<>]")
_SENTENCE = re.compile(r"[.?!](?:\s|$)")


def text_features(texts) -> np.ndarray:
    """(n, len(TEXT_FEATURES)) float32: log(1 + count) of each statistic, in ``TEXT_FEATURES`` order."""
    out = np.zeros((len(texts), len(TEXT_FEATURES)), np.float32)
    for i, t in enumerate(texts):
        t = "" if t is None else str(t)
        numbers = _NUMBER.findall(t)
        out[i] = (len(t), len(t.split()), len(numbers), max((len(n) for n in numbers), default=0),
                  len(_LATEX.findall(t)), t.count("$"), len(_OPERATORS.findall(t)), len(_SENTENCE.findall(t)))
    return np.log1p(out, out=out)


def features_for_ids(ids, texts: dict, source, predictor_dir, fix: str) -> np.ndarray:
    """:func:`text_features` of the questions ``ids`` from ``texts`` (id -> text, read from ``source``); a clear
    error naming ``source`` when some id has no text (a predictor that reads texts cannot score it)."""
    missing = [q for q in ids if str(q) not in texts]
    if missing:
        raise DDCFError(
            f"The predictor in {predictor_dir} reads the question text (--text_features), but {source} lacks the "
            f"text of {len(missing):,} of the {len(ids):,} questions (e.g. {', '.join(map(repr, missing[:3]))}).",
            fix)
    return text_features([texts[str(q)] for q in ids])
