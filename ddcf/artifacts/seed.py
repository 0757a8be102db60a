"""The seed question table, ``DDCF_data/seed/questions.parquet``: the questions whose answers train the predictor.

Columns: question_id, question, gold (the reference answer; absent from a table built from a bring-your-own
correctness table), dataset (+ ``type``, the released seed_math.csv's column that picks stage 1's exemplars;
subject and prompt_id from the Hub).  Written by ``ddcf install-bundled``, ``ddcf download``, ``ddcf verify``
and ``ddcf matrix`` (:func:`write_seed`); read through :func:`read_seed`, the only reader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from ddcf.artifacts.questions import read_question_table, table_columns
from ddcf.errors import DDCFError
from ddcf.io import read_parquet_metadata, write_parquet
from ddcf.layout import Layout

COLUMNS = ("question_id", "question", "gold", "dataset")
DEFAULTS = {"dataset": "unknown"}
WHAT = "seed question"
FIX = ("create it with scripts/install_bundled_data.py (bundled data) or create_training_data.py "
       "--correctness_table; it needs the columns question_id, question, gold (+ dataset).")


def path(layout: Layout) -> Path:
    return layout.seed_questions


def exists(layout: Layout) -> bool:
    return path(layout).is_file()


def file_columns(layout: Layout, fix: str = FIX) -> list[str]:
    return table_columns(path(layout), WHAT, fix)


def provenance(layout: Layout) -> dict:
    return read_parquet_metadata(path(layout))


def read_seed(layout: Layout, columns: Sequence[str] = ("question_id", "question"), ids: Sequence[str] | None = None,
              optional: Sequence[str] = (), fix: str = FIX, check_blank: bool = True) -> pd.DataFrame:
    """The seed rows, validated like the corpus's (:func:`ddcf.artifacts.questions.read_question_table`); a
    requested text column (question, gold) must have no missing value, and no question may be blank."""
    df = read_question_table(path(layout), WHAT, columns, ids=ids, optional=optional, defaults=DEFAULTS, fix=fix,
                             check_blank=check_blank)
    for col in ("question", "gold"):
        if col in df.columns:
            n_bad = int(df[col].isna().sum())
            if n_bad:
                raise DDCFError(f"The seed question file {path(layout)} has {n_bad} missing '{col}' value(s).", fix)
            df[col] = df[col].astype(str)
    if "dataset" in df.columns:
        df["dataset"] = df["dataset"].fillna("unknown").astype(str)
    if "type" in df.columns:  # a missing type is "not math" to the released rule, like any other value
        df["type"] = df["type"].fillna("").astype(str)
    return df


def write_seed(layout: Layout, df: pd.DataFrame, provenance: dict | None = None) -> Path:
    missing = [c for c in ("question_id", "question") if c not in df.columns]
    if missing:
        raise ValueError(f"a seed question table needs the columns {missing}")
    return write_parquet(df, path(layout), metadata=provenance)
