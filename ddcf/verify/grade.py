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
import math
from pathlib import Path

import pandas as pd

from ddcf.errors import DDCFError
from ddcf.io import hash_ids, write_parquet
from ddcf.layout import Layout
from ddcf.runtime import progress as progress_bar
from ddcf.verify.config import DEFAULT_TIMEOUT_S
from ddcf.verify.equivalence import Verifier, gold_key, prediction_key
from ddcf.verify.extract import get_chain
from ddcf.verify.gold import grading_style, normalize_gold

COMPLETION_COLUMNS = ["model", "question_id", "question", "gold", "completion"]
VERDICT_COLUMNS = [
    "model", "question_id", "question", "dataset", "completion", "prediction", "gold", "correct", "status"
]


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def check_completions(df: pd.DataFrame, what: str) -> None:
    missing = [c for c in COMPLETION_COLUMNS if c not in df.columns]
    if missing:
        raise DDCFError(
            f"The {what} lacks the column(s) {', '.join(missing)}; it has: {', '.join(map(str, df.columns))}.",
            f"provide a table with the columns {', '.join(COMPLETION_COLUMNS)} (and optionally dataset).",
        )
    for col in ("model", "question_id", "gold"):
        bad = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if bad.any():
            rows = ", ".join(map(str, list(df.index[bad])[:5]))
            raise DDCFError(
                f"The {what} has {int(bad.sum())} row(s) with an empty '{col}' (e.g. rows {rows}).",
                f"fill in '{col}' for every row or drop those rows.",
            )
    dup = df.duplicated(["model", "question_id"])
    if dup.any():
        first = df.loc[dup].iloc[0]
        raise DDCFError(
            f"The {what} has {int(dup.sum())} duplicate (model, question_id) row(s), e.g. "
            f"{first['model']!r} / {first['question_id']!r}.",
            "keep one completion per model and question (e.g. the first sample) before verifying.",
        )


def grade_completions(
    df: pd.DataFrame,
    *,
    verifier: Verifier | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    workers: int | None = None,
    cache_path: str | Path | None = None,
    progress: bool = True,
    what: str = "completions table",
) -> pd.DataFrame:
    """Extract each completion's final answer and check it against the gold.

    ``df`` has columns model, question_id, question, gold, completion and
    optionally dataset (``'gsm8k'``/``'math'``/...).  Without dataset, a ``# N``
    or plain-number gold means GSM8K-style grading, anything else MATH-style.
    Returns one row per input row, in input order, with :data:`VERDICT_COLUMNS`;
    status is 'ok' (checked), 'no_answer' (nothing extractable: correct=False),
    'timeout' or 'error' (checker gave up: correct=False).

    Pass a :class:`Verifier` to share its worker pool and caches across calls;
    otherwise one is made from ``timeout``/``workers``/``cache_path`` and closed.
    """
    check_completions(df, what)
    own = verifier is None
    if own:
        verifier = Verifier(timeout=timeout, workers=workers, cache_path=cache_path, progress=progress)
    try:
        n = len(df)
        golds = df["gold"].astype(str).tolist()
        datasets = df["dataset"].tolist() if "dataset" in df.columns else [None] * n
        completions = ["" if _is_missing(c) else str(c) for c in df["completion"].tolist()]

        style_of: dict[tuple, str] = {}
        gold_of: dict[tuple[str, str], tuple[str, str]] = {}
        styles, gold_norm, gold_keys = [], [], []
        for g, d in zip(golds, datasets):
            sk = (None if _is_missing(d) else str(d), g)
            st = style_of.get(sk)
            if st is None:
                st = style_of[sk] = grading_style(sk[0], g)
            gk = gold_of.get((g, st))
            if gk is None:
                gn = normalize_gold(g, st)
                gk = gold_of[(g, st)] = (gn, gold_key(gn, st))
            styles.append(st)
            gold_norm.append(gk[0])
            gold_keys.append(gk[1])

        predictions: list[str | None] = []
        for comp, st in progress_bar(
            zip(completions, styles), total=n, desc="extract", unit="row", enabled=progress, mininterval=0.5,
            leave=False,
        ):
            predictions.append(get_chain(st)(comp).answer)

        idx = [i for i, p in enumerate(predictions) if p is not None]
        triples = [(prediction_key(predictions[i], styles[i], gold_keys[i]), gold_keys[i], styles[i]) for i in idx]
        verdicts = verifier.check(triples)

        correct = [False] * n
        status = ["no_answer"] * n
        for i, v in zip(idx, verdicts):
            correct[i] = bool(v.correct)
            status[i] = v.status
        out_dataset = [st if _is_missing(d) else str(d) for d, st in zip(datasets, styles)]
        return pd.DataFrame(
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
) -> Path:
    """Write ``verdicts_df`` (one model's rows) to ``layout.verdicts(model)`` atomically, with provenance."""
    from ddcf.verify.equivalence import verifier_version as _vv

    missing = [c for c in VERDICT_COLUMNS if c not in verdicts_df.columns]
    if missing:
        raise ValueError(f"verdict table lacks columns {missing}")
    models = set(verdicts_df["model"].astype(str))
    if models != {model}:
        raise ValueError(f"verdict table for {model!r} contains rows of {sorted(models)[:5]}")
    out = verdicts_df[VERDICT_COLUMNS].reset_index(drop=True)
    meta = {
        "stage": "verify",
        "model": model,
        "verifier_version": verifier_version or _vv(),
        "timeout_s": timeout,
        "source": source,
        "n": int(len(out)),
        "n_correct": int(out["correct"].sum()),
        "status_counts": {k: int(v) for k, v in out["status"].value_counts().items()},
        **completions_fingerprint(out),
    }
    if extra:
        meta.update(extra)
    return write_parquet(out, layout.verdicts(model), metadata=meta)
