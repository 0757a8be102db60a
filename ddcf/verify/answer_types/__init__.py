"""Answer types: how a completion's final answer is found and compared with the gold, one file per type.

Each row of a completions table is graded by one answer type, chosen by :func:`resolve`: its ``answer_type``
column when present, else its dataset's default (:data:`DATASET_DEFAULTS`: gsm8k -> GSM8K-style math, math ->
math), else the verify stage's ``--answer_type`` (``auto`` keeps today's behaviour: math).

A type is an :class:`AnswerType`: ``extract(completion, question) -> Extraction``, ``gold(gold, question) ->
key`` (raises :class:`BadGold` with the reason for a gold it cannot grade against) and ``same(prediction,
gold_key) -> bool``.  :func:`grade_rows` turns those into verdict rows; ``math`` overrides it with the math
verifier (math-verify workers, cache, time limits).  Adding a type is one file here (a module-level
``ANSWER_TYPE = AnswerType(...)``) plus one line in :data:`REGISTRY`.

Imports nothing heavy: the verify stage's ``--help`` lists :data:`REGISTRY`.
"""

from __future__ import annotations

import importlib
import math as _math
from dataclasses import dataclass
from typing import Any, Callable

from ddcf.errors import DDCFError

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


@dataclass(frozen=True)
class AnswerType:
    name: str
    extract: Callable[[str, str], Any]  # (completion, question) -> ddcf.verify.extract.Extraction
    gold: Callable[[str, str], Any]  # (gold, question) -> comparable key; raises BadGold
    same: Callable[[Any, Any], bool]  # (prediction, gold key) -> correct
    grade: Callable[..., Any] | None = None  # (df, **grade_completions options) -> verdicts; math only


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
    from ddcf.verify.gold import _NUMERIC_DATASETS

    d = str(dataset).strip().lower()
    if d in DATASET_DEFAULTS:
        return DATASET_DEFAULTS[d]
    if d in _NUMERIC_DATASETS or d.startswith(("gsm8k", "math")):
        return "math"
    return d if d in REGISTRY else None


def resolve(answer_types, datasets, default: str = AUTO, where: str = "column 'answer_type'") -> list[str]:
    """One answer type per row: the row's own, else its dataset's default, else ``default`` (auto -> math)."""
    fallback = "math" if default == AUTO else check_name(default, "--answer_type")
    out = []
    for t, d in zip(answer_types, datasets):
        if not _missing(t):
            out.append(check_name(str(t).strip(), where))
        else:
            out.append(dataset_default(d) or fallback)
    return out


def grade_rows(kind: AnswerType, df, **_options):
    """Verdict rows (:data:`ddcf.verify.grade.VERDICT_COLUMNS`) for ``df`` graded by a non-math type.

    A gold the type cannot use (a choice gold that names no listed option, a code gold that is no literal)
    gives that row status 'error' with the reason in ``attrs["row_errors"]``; the other rows are graded.
    """
    import pandas as pd

    from ddcf.verify.grade import VERDICT_COLUMNS

    questions = df["question"].astype(str).tolist()
    golds = df["gold"].astype(str).tolist()
    comps = ["" if not isinstance(c, str) else c for c in df["completion"].tolist()]
    preds, correct, status, errors = [], [], [], []
    for i, (q, g, c) in enumerate(zip(questions, golds, comps)):
        try:
            key = kind.gold(g, q)
        except BadGold as exc:
            preds.append(None)
            correct.append(False)
            status.append("error")
            errors.append((i, f"{kind.name} gold {g[:60]!r}: {exc}"))
            continue
        ex = kind.extract(c, q)
        ok = ex.answer is not None and bool(kind.same(ex.answer, key))
        preds.append(ex.answer)
        correct.append(ok)
        status.append("no_answer" if ex.answer is None else "truncated" if ex.truncated else "ok")
    datasets = df["dataset"].tolist() if "dataset" in df.columns else [None] * len(df)
    out = pd.DataFrame({
        "model": df["model"].astype(str).to_numpy(), "question_id": df["question_id"].astype(str).to_numpy(),
        "question": questions, "dataset": [kind.name if _missing(d) else str(d) for d in datasets],
        "completion": comps, "prediction": pd.array(preds, dtype="string"), "gold": golds,
        "correct": pd.array(correct, dtype="bool"), "status": status,
    }, columns=VERDICT_COLUMNS)
    out.attrs["row_errors"] = errors
    return out
