"""Grade a completions table into the per-model verdict table (stage 1's "verify" half).

Public, stable API (the generation code calls it on its own completions):

* :func:`grade_completions` -> verdict DataFrame with :data:`VERDICT_COLUMNS`;
* :func:`write_verdicts` -> ``Layout.verdicts(model)`` written atomically with provenance;
* :func:`completions_fingerprint` -> the hashes that tell whether a verdict table
  still matches its input (used to skip finished models on resume).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import pandas as pd

from ddcf.artifacts import verdicts as verdicts_artifact
from ddcf.errors import first_line
from ddcf.io import hash_ids
from ddcf.layout import Layout
from ddcf.runtime import progress as progress_bar
from ddcf.verify.answer_types import AUTO, NOPARSE, AnswerType, BadGold, _missing
from ddcf.verify.answer_types import get as get_answer_type
from ddcf.verify.answer_types.math import read_style
from ddcf.verify.answer_types.pick import resolve
from ddcf.verify.completions import (
    _is_missing,
    check_completions,
    text_columns,
)
from ddcf.verify.config import DEFAULT_TIMEOUT_S
from ddcf.verify.equivalence import Verifier, gold_key, prediction_key
from ddcf.verify.equivalence import verifier_version as current_verifier_version
from ddcf.verify.extract import SCAN_CHARS
from ddcf.verify.gold import grading_style, normalize_gold

VERDICT_COLUMNS = verdicts_artifact.COLUMNS
#: What the status column of a verdict table says (``correct`` is False unless the status is 'ok',
#: 'fallback' or 'truncated'):
VERDICT_STATUSES = {
    "ok": "the answer was found (ddcf.verify.front) and checked",
    "fallback": "no answer was found at a marked place; the answer type's fallback on the whole text (GSM8K: the "
                "last number; choice: 'I choose D', a line starting with its letter) found one, which was checked",
    "unparsed": "an answer was found at a marked place (JSON field, tag, box, phrase, fence) but the answer type "
                "could not parse it (e.g. no Python literal for code_output, no letter for choice)",
    "no_answer": "no final answer could be found",
    "timeout": "the checker hit the per-pair time limit",
    "error": "extraction, normalisation or the checker failed on this row; the run went on",
    "truncated": f"the completion is longer than {SCAN_CHARS:,} characters; only its end was searched for the "
                 "answer, which was then checked (a 'timeout' or 'error' on such a row keeps that status)",
}


def grade_completions(
    df: pd.DataFrame,
    *,
    verifier: Verifier | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    workers: int | None = None,
    cache_path: str | Path | None = None,
    progress: bool = True,
    what: str = "completions table",
    answer_type: str = AUTO,
) -> pd.DataFrame:
    """Grade each row by its answer type (:mod:`ddcf.verify.answer_types`), in input order.

    The type of a row is its ``answer_type`` column, else its dataset's default (gsm8k/math -> math), else
    ``answer_type`` (``auto``: picked per dataset from the gold values,
    :func:`ddcf.verify.answer_types.pick.auto_pick`).  Rows of the math type go through :func:`grade_math`
    (below) exactly as before the registry existed; the others through :func:`grade_rows`.
    ``result.attrs["row_errors"]`` lists (row, reason) for every row with status 'error'.
    """
    df = text_columns(df, what)
    check_completions(df, what)
    n = len(df)
    given = df["answer_type"].tolist() if "answer_type" in df.columns else [None] * n
    datasets = df["dataset"].tolist() if "dataset" in df.columns else [None] * n
    types = resolve(given, datasets, answer_type, where=f"column 'answer_type' of the {what}",
                    golds=df["gold"].astype(str).tolist(), questions=df["question"].astype(str).tolist())
    kw = dict(verifier=verifier, timeout=timeout, workers=workers, cache_path=cache_path, progress=progress,
              what=what)
    if all(t == "math" for t in types):
        return grade_math(df, **kw)
    frame = df.reset_index(drop=True)
    parts, row_errors = [], []
    for name in dict.fromkeys(types):
        rows = [i for i, t in enumerate(types) if t == name]
        kind = get_answer_type(name)
        sub = frame.iloc[rows]
        got = grade_math(sub, **kw) if kind.whole_table else grade_rows(kind, sub)
        row_errors += [(rows[j], msg) for j, msg in got.attrs.get("row_errors", [])]
        parts.append(got.set_axis(rows))
    out = pd.concat(parts).sort_index().reset_index(drop=True)
    out.attrs["row_errors"] = sorted(row_errors)
    return out


def grade_rows(kind: AnswerType, df, **_options):
    """Verdict rows (:data:`VERDICT_COLUMNS`) for ``df`` graded row by row by ``kind`` (every type whose
    ``whole_table`` is not set, i.e. all but math).

    A gold the type cannot use (a choice gold that names no listed option, a code gold that is no literal)
    gives that row status 'error' with the reason in ``attrs["row_errors"]``; the other rows are graded.
    Status per row: see :mod:`ddcf.verify.answer_types` ('ok' becomes 'truncated' when only the completion's
    tail was read).
    """
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
        r = kind.read(c, q)
        ok = r.value is not NOPARSE and bool(kind.same(r.value, key))
        preds.append(r.answer)
        correct.append(ok)
        status.append("truncated" if r.truncated and r.status == "ok" else r.status)
    datasets = df["dataset"].tolist() if "dataset" in df.columns else [None] * len(df)
    out = pd.DataFrame({
        "model": df["model"].astype(str).to_numpy(), "question_id": df["question_id"].astype(str).to_numpy(),
        "question": questions, "dataset": [kind.name if _missing(d) else str(d) for d in datasets],
        "completion": comps, "prediction": pd.array(preds, dtype="string"), "gold": golds,
        "correct": pd.array(correct, dtype="bool"), "status": status,
    }, columns=VERDICT_COLUMNS)
    out.attrs["row_errors"] = errors
    return out


def grade_choices(df, **_ignored):
    """Verdict rows for a completions table of choice questions (through the ``choice`` answer type).

    Accepts (and ignores) the options of :func:`grade_completions`: letters need no math checker, workers or
    time limit.
    """
    return grade_rows(get_answer_type("choice"), df)


def grade_math(
    df: pd.DataFrame,
    *,
    verifier: Verifier | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    workers: int | None = None,
    cache_path: str | Path | None = None,
    progress: bool = True,
    what: str = "completions table",
) -> pd.DataFrame:
    """The math answer type: extract each completion's final answer and check it against the gold.

    ``df`` has columns model, question_id, question, gold, completion and
    optionally dataset (``'gsm8k'``/``'math'``/...).  Without dataset, a ``# N``
    or plain-number gold means GSM8K-style grading, anything else MATH-style.
    Returns one row per input row, in input order, with :data:`VERDICT_COLUMNS`;
    status is one of :data:`VERDICT_STATUSES`.  A row whose extraction or normalisation raises
    gets status 'error' (correct=False) and the others are graded as usual; the
    exceptions are listed in ``result.attrs["row_errors"]`` as (row, "Type: message").

    Pass a :class:`Verifier` to share its worker pool and caches across calls;
    otherwise one is made from ``timeout``/``workers``/``cache_path`` and closed.
    """
    df = text_columns(df, what)
    check_completions(df, what)
    own = verifier is None
    if own:
        verifier = Verifier(timeout=timeout, workers=workers, cache_path=cache_path, progress=progress)
    try:
        n = len(df)
        golds = df["gold"].astype(str).tolist()
        datasets = df["dataset"].tolist() if "dataset" in df.columns else [None] * n
        completions = ["" if _is_missing(c) else str(c) for c in df["completion"].tolist()]

        # Every row gets a verdict: an exception in one row's gold, extraction or normalisation
        # (a 5,000-digit "number", a bug on an odd input) marks that row 'error' and the run goes on.
        row_errors: list[tuple[int, str]] = []
        status = ["no_answer"] * n

        def failed(i: int, exc: Exception) -> None:
            status[i] = "error"
            row_errors.append((i, f"{type(exc).__name__}: {first_line(exc, 200)}"))

        style_of: dict[tuple, str] = {}
        gold_of: dict[tuple[str, str], tuple[str, str] | Exception] = {}
        styles: list[str] = []
        gold_keys: list[str | None] = []
        for i, (g, d) in enumerate(zip(golds, datasets)):
            sk = (None if _is_missing(d) else str(d), g)
            st = style_of.get(sk)
            if st is None:
                st = style_of[sk] = grading_style(sk[0], g)
            gk = gold_of.get((g, st))
            if gk is None:
                try:
                    gn = normalize_gold(g, st)
                    gk = (gn, gold_key(gn, st))
                except Exception as exc:  # noqa: BLE001 - see above
                    gk = exc
                gold_of[(g, st)] = gk
            styles.append(st)
            if isinstance(gk, Exception):
                failed(i, gk)
                gold_keys.append(None)
            else:
                gold_keys.append(gk[1])

        predictions: list[str | None] = [None] * n
        pred_keys: dict[int, str] = {}
        truncated = [False] * n
        fallback = [False] * n
        for i, (comp, st) in enumerate(progress_bar(
            zip(completions, styles), total=n, desc="extract", unit="row", enabled=progress, mininterval=0.5,
            leave=False,
        )):
            gk = gold_keys[i]
            if gk is None:
                continue
            try:
                r = read_style(comp, st)  # the extraction front, read as the math type (style's locations)
                truncated[i] = r.truncated
                if r.status in ("ok", "fallback"):
                    pred_keys[i] = prediction_key(r.value, st, gk)
                    predictions[i] = r.value
                    fallback[i] = r.status == "fallback"
                else:
                    status[i] = r.status  # 'no_answer' or 'unparsed'
            except Exception as exc:  # noqa: BLE001 - see above
                failed(i, exc)

        idx = list(pred_keys)
        verdicts = verifier.check([(pred_keys[i], gold_keys[i], styles[i]) for i in idx])

        correct = [False] * n
        for i, v in zip(idx, verdicts):
            correct[i] = bool(v.correct)
            status[i] = v.status
        for i in range(n):
            if fallback[i] and status[i] == "ok":
                status[i] = "fallback"  # no answer span: the GSM8K last-number fallback was compared
            if truncated[i] and status[i] in ("ok", "no_answer"):
                status[i] = "truncated"  # the verdict stands, but only the completion's tail was read
        out_dataset = [st if _is_missing(d) else str(d) for d, st in zip(datasets, styles)]
        out = pd.DataFrame(
            {
                "model": df["model"].astype(str).to_numpy(),
                "question_id": df["question_id"].astype(str).to_numpy(),
                "question": df["question"].astype(str).to_numpy(),
                "dataset": out_dataset,
                "completion": completions,
                "prediction": pd.array(predictions, dtype="string"),
                "gold": golds,
                "correct": pd.array(correct, dtype="bool"),
                "status": status,
            },
            columns=VERDICT_COLUMNS,
        )
        out.attrs["row_errors"] = row_errors
        return out
    finally:
        if own:
            verifier.close()


# ---------------------------------------------------------------------------- provenance
def completions_fingerprint(df: pd.DataFrame) -> dict[str, str]:
    """Order-independent hashes of a model's question ids and of its (id, gold, completion) rows."""
    rows = sorted(
        zip(
            df["question_id"].astype(str).tolist(),
            df["gold"].astype(str).tolist(),
            ["" if _is_missing(c) else str(c) for c in df["completion"].tolist()],
        )
    )
    # One JSON document of [id, gold, completion] rows: unambiguous, and hashed in one C call.
    blob = json.dumps(rows)
    digest = hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()
    return {"question_ids_sha256": hash_ids(r[0] for r in rows), "completions_sha256": digest}


def write_verdicts(
    layout: Layout,
    model: str,
    verdicts_df: pd.DataFrame,
    *,
    source: str | None = None,
    timeout: float | None = None,
    verifier_version: str | None = None,
    extra: dict | None = None,
    extra_columns: Sequence[str] = (),
) -> Path:
    """Write ``verdicts_df`` (one model's rows) to ``layout.verdicts(model)`` atomically, with provenance (the
    fingerprint covers the standard columns; ``extra_columns`` such as ``sample`` are written beside them)."""
    missing = [c for c in VERDICT_COLUMNS if c not in verdicts_df.columns]
    if missing:
        raise ValueError(f"verdict table lacks columns {missing}")
    out = verdicts_df[VERDICT_COLUMNS].reset_index(drop=True)
    meta = {
        "stage": "verify",
        "model": model,
        "verifier_version": verifier_version or current_verifier_version(),
        "timeout_s": timeout,
        "source": source,
        "n": int(len(out)),
        "n_correct": int(out["correct"].sum()),
        "status_counts": {k: int(v) for k, v in out["status"].value_counts().items()},
        **completions_fingerprint(out),
    }
    if extra:
        meta.update(extra)
    return verdicts_artifact.write_verdicts(layout, model, verdicts_df, meta, extra_columns)
