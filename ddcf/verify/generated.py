"""Grading of generated completions: ``n`` samples per question -> one verdict table per model.

The generation stage (:mod:`ddcf.generate.runner`) hands its shards here.  Samples of one
question often repeat a completion (greedy runs, easy questions), so each distinct
(question, completion) is graded once and its verdict attached to every sample.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from ddcf.layout import Layout
from ddcf.verify.grade import VERDICT_COLUMNS, grade_completions, write_verdicts

#: joins a question id and the index of a distinct completion of it into one grader key
KEY_SEP = "\x1f"


def verify_generations(
    gens: pd.DataFrame,
    model: str,
    grade_fn: Callable[..., pd.DataFrame] = grade_completions,
    *,
    n_samples: int,
    cache_path: Path | None,
    timeout: float,
    workers: int | None,
    progress: bool,
) -> pd.DataFrame:
    """Grade each distinct (question, completion) once and attach the verdicts to every sample.

    The grader takes one row per (model, question_id), so distinct completions of
    one question are sent under keys "<question_id><US><k>" (US = the \\x1f separator) and mapped back.
    """
    uniq = gens[["question_id", "question", "gold", "dataset", "completion"]].drop_duplicates(
        ["question_id", "completion"]).reset_index(drop=True)
    k = uniq.groupby("question_id", sort=False).cumcount()
    uniq["_key"] = [q if j == 0 else f"{q}{KEY_SEP}{j}" for q, j in zip(uniq["question_id"], k)]
    todo = pd.DataFrame({
        "model": model, "question_id": uniq["_key"].values, "question": uniq["question"].values,
        "gold": uniq["gold"].values, "completion": uniq["completion"].values, "dataset": uniq["dataset"].values,
    })
    graded = grade_fn(todo, timeout=timeout, workers=workers, cache_path=cache_path, progress=progress)
    need = ["question_id", "prediction", "correct", "status"]
    missing = [c for c in need if c not in graded.columns]
    if missing:
        raise RuntimeError(f"the verifier returned no {missing} column(s)")
    graded = graded[need].rename(columns={"question_id": "_key"}).drop_duplicates("_key")
    keyed = uniq[["question_id", "completion", "_key"]].merge(graded, on="_key", how="left", validate="one_to_one")
    merged = gens.merge(keyed.drop(columns="_key"), on=["question_id", "completion"], how="left",
                        validate="many_to_one")
    if merged["correct"].isna().any():
        raise RuntimeError(f"the verifier returned no verdict for {int(merged['correct'].isna().sum())} completion(s)")
    merged["model"] = model
    merged["correct"] = merged["correct"].astype(bool)
    merged["status"] = merged["status"].astype(str)
    cols = VERDICT_COLUMNS + (["sample"] if n_samples > 1 else [])
    return merged.sort_values(["question_id", "sample"], kind="stable")[cols].reset_index(drop=True)


def write_verdict_table(layout: Layout, model: str, verdicts: pd.DataFrame, *, n_samples: int, source: str,
                        timeout: float, extra: dict) -> Path:
    """Write the verdict table through :func:`write_verdicts` (its schema and provenance metadata).

    ``write_verdicts`` keeps only the standard columns, so with n > 1 the table is
    written once more with the same metadata plus the ``sample`` column.
    """
    return Path(write_verdicts(layout, model, verdicts, source=source, timeout=timeout, extra=extra,
                               extra_columns=["sample"] if n_samples > 1 else []))
