"""Stage 1's verified answers, one table per model: ``DDCF_data/verdicts/<model>.parquet``.

Columns (:data:`COLUMNS`): model, question_id, question, dataset, completion, prediction, gold, correct, status;
the Parquet metadata records the model, the verifier version and a fingerprint of the completions.  Written by
``ddcf verify`` / ``ddcf generate`` / ``ddcf download-correctness`` through :func:`write_verdicts`; read by
``ddcf matrix``, ``ddcf select`` (seed pools), ``ddcf probe fit`` and the report through :func:`read_verdicts`.
The ``<model>.passrate.parquet`` tables beside them (sampled generation) are not verdicts (:func:`verdict_files`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import read_parquet_metadata, read_table, write_parquet
from ddcf.layout import PASSRATE_SUFFIX, Layout

COLUMNS = ["model", "question_id", "question", "dataset", "completion", "prediction", "gold", "correct", "status"]
_TRUE = {"1", "true", "t", "yes", "y", "correct", "1.0"}
_FALSE = {"0", "false", "f", "no", "n", "incorrect", "wrong", "0.0"}


def path(layout: Layout, model: str) -> Path:
    return layout.verdicts(model)


def verdict_files(layout: Layout) -> list[Path]:
    """Every model's verdict table (the pass-rate tables beside them are not verdicts)."""
    vdir = layout.verdicts_dir
    if not vdir.is_dir():
        return []
    return sorted(p for p in vdir.glob("*.parquet") if not p.name.endswith(PASSRATE_SUFFIX))


def coerce_correct(values: pd.Series, where: Path | str) -> pd.Series:
    """The 'correct' column as floats in [0, 1]: booleans, 0/1 and common words; NaN stays NaN (= missing)."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        v = values.astype(float)
    else:
        s = values.astype("string").str.strip().str.lower()
        v = pd.Series(np.nan, index=values.index, dtype=float)
        v[s.isin(_TRUE)] = 1.0
        v[s.isin(_FALSE)] = 0.0
        unknown = s.notna() & ~s.isin(_TRUE | _FALSE) & ~s.isin({"", "nan", "none", "null"})
        if unknown.any():
            bad = s[unknown].iloc[0]
            raise DDCFError(
                f"The column 'correct' in {where} holds {int(unknown.sum())} value(s) that are not a verdict "
                f"(e.g. {bad!r}).",
                "use 1/0, true/false, or leave the cell empty for a missing verdict.",
            )
    out_of_range = v.notna() & ((v < 0) | (v > 1))
    if out_of_range.any():
        raise DDCFError(
            f"The column 'correct' in {where} has values outside [0, 1] (e.g. {v[out_of_range].iloc[0]}).",
            "use 1 for correct and 0 for wrong (pass rates in [0, 1] are also accepted).",
        )
    return v


def check_owner(p, df: pd.DataFrame, model: str, fix: str) -> None:
    """The table is ``model``'s own: its recorded model (Parquet metadata) and its 'model' column, when it has
    them, name ``model``; a table copied or renamed from another model's would carry someone else's answers."""
    recorded = read_parquet_metadata(p).get("model") if str(p).endswith(".parquet") else None
    in_rows = sorted(set(df["model"].dropna().astype(str))) if "model" in df.columns else []
    others = [m for m in ([recorded] if recorded else []) + in_rows if m != model]
    if others:
        raise InputMismatchError(
            f"The verdict table {p} holds the verdicts of {', '.join(map(repr, dict.fromkeys(others)))}, not of "
            f"{model!r} (its recorded model or 'model' column says so): fitting {model!r} on them would give it "
            "another model's strengths.",
            f"answer the questions with {model} itself, or, if the table really is {model}'s, {fix}")


def read_verdicts(layout: Layout, model: str, columns: Sequence[str] = ("question_id", "correct"),
                  fix: str | None = None) -> pd.DataFrame:
    """One model's verdicts, validated: present, the ``columns`` there, the model's own (:func:`check_owner`),
    question ids as text, 'correct' as floats in [0, 1] (:func:`coerce_correct`), a dataset column."""
    p = path(layout, model)
    fix = fix or f"rerun infer.py --model_name {model} (add --reverify), or infer.py --completions FILE."
    df = read_table(p, f"verdict table of {model!r}", list(columns), fix).copy()
    check_owner(p, df, model, fix)
    df["question_id"] = df["question_id"].astype(str)
    if "correct" in df.columns:
        df["correct"] = coerce_correct(df["correct"], p)
    if "dataset" not in df.columns:
        df["dataset"] = "unknown"
    return df


def write_verdicts(layout: Layout, model: str, df: pd.DataFrame, metadata: dict,
                   extra_columns: Sequence[str] = ()) -> Path:
    """One model's verdict table (:data:`COLUMNS` + ``extra_columns``, e.g. ``sample`` of sampled generation),
    atomically, with its provenance."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"verdict table lacks columns {missing}")
    models = set(df["model"].astype(str))
    if models != {model}:
        raise ValueError(f"verdict table for {model!r} contains rows of {sorted(models)[:5]}")
    out = df[COLUMNS + list(extra_columns)].reset_index(drop=True)
    return write_parquet(out, path(layout, model), metadata={**metadata, "model": model})
