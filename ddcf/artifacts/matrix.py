"""Stage 2's binary correctness matrix and its question split: ``DDCF_data/correctness/`` + model_order.csv.

``matrix.parquet`` (:data:`MATRIX_COLUMNS`: one row per model x question), its ``train`` / ``val`` / ``test``
sides (:data:`SPLIT_COLUMNS`; test may be empty) and ``model_order.csv`` (model_id 0..m-1, model).  Written
together by ``ddcf matrix`` (:func:`write_matrix`); read by ``ddcf predictor``, ``ddcf probe``, ``ddcf push``
and ``ddcf summary`` through :func:`read_model_order` / :func:`read_split` / :func:`read_matrix`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import read_parquet_metadata, read_table, write_csv, write_parquet
from ddcf.layout import Layout

MATRIX_COLUMNS = ["model_id", "model", "question_id", "correct", "dataset", "split", "pass_rate", "n"]
SPLIT_COLUMNS = ["model_id", "model", "question_id", "correct", "dataset"]
#: what a split must have (dataset is optional in a hand-made one)
SPLIT_REQUIRED = ("model_id", "model", "question_id", "correct")
SIDES = ("train", "val", "test")
FIX = "rerun create_training_data.py to rebuild the correctness matrix and its split."
ORDER_FIX = "write DDCF_data/model_order.csv with columns model_id (0..m-1) and model; create_training_data.py does."


def split_path(layout: Layout, side: str) -> Path:
    return {"train": layout.train_split, "val": layout.val_split, "test": layout.test_split}[side]


def paths(layout: Layout) -> dict[str, Path]:
    return {"matrix": layout.matrix, "model_order": layout.model_order,
            **{side: split_path(layout, side) for side in SIDES}}


def read_model_order_table(layout: Layout, fix: str = ORDER_FIX) -> pd.DataFrame:
    """model_order.csv in model_id order (with its statistics columns, e.g. n_answered, accuracy), validated:
    model ids exactly 0..m-1, model names unique (as text)."""
    mo = read_table(layout.model_order, "model order", ["model_id", "model"], fix)
    ids = pd.to_numeric(mo["model_id"], errors="coerce")
    if ids.isna().any() or (ids != ids.round()).any():
        raise DDCFError(f"The model order file {layout.model_order} has non-integer model_id values.", fix)
    ids = ids.astype(np.int64)
    if sorted(ids.tolist()) != list(range(len(mo))):
        raise DDCFError(
            f"The model order file {layout.model_order} must number its {len(mo)} models 0..{len(mo) - 1} "
            f"exactly once; it has model_id values {sorted(set(ids.tolist()))[:10]}...",
            fix,
        )
    mo = mo.assign(model_id=ids, model=mo["model"].astype(str)).sort_values("model_id", kind="stable")
    if mo["model"].duplicated().any():
        raise DDCFError(f"The model order file {layout.model_order} lists a model twice.", fix)
    return mo.reset_index(drop=True)


def read_model_order(layout: Layout, fix: str = ORDER_FIX) -> list[str]:
    """Model names in model_id order (:func:`read_model_order_table`)."""
    return read_model_order_table(layout, fix)["model"].tolist()


def write_model_order(layout: Layout, table: pd.DataFrame) -> Path:
    """model_order.csv (model_id, model + statistics), atomically; e.g. after ``ddcf probe fit`` adds a model."""
    return write_csv(table, layout.model_order)


def read_split(layout: Layout, side: str, models: list[str], allow_empty: bool = False) -> pd.DataFrame:
    """One side of the split, validated against the model order ``models``: integer model ids in range that
    name the same model, 'correct' exactly 0/1; question ids as text, dataset 'all' when absent."""
    path, what = split_path(layout, side), {"train": "training", "val": "validation", "test": "test"}[side] + " split"
    df = read_table(path, what, SPLIT_REQUIRED, FIX, allow_empty=allow_empty)
    mid = pd.to_numeric(df["model_id"], errors="coerce")
    if mid.isna().any() or (mid != mid.round()).any():
        raise DDCFError(f"The {what} file {path} has missing or non-integer model_id values.", FIX)
    mid = mid.astype(np.int64)
    bad = (mid < 0) | (mid >= len(models))
    if bad.any():
        raise InputMismatchError(
            f"The {what} file {path} has model_id {int(mid[bad].iloc[0])} but {layout.model_order} lists only "
            f"{len(models)} models (ids 0..{len(models) - 1}).",
            FIX,
        )
    expected = np.asarray(models, dtype=object)[mid.to_numpy()]
    wrong = expected != df["model"].astype(str).to_numpy()
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise InputMismatchError(
            f"The {what} file {path} and {layout.model_order} disagree: model_id {int(mid.iloc[i])} is "
            f"'{df['model'].iloc[i]}' in the split but '{expected[i]}' in the model order.",
            FIX,
        )
    correct = pd.to_numeric(df["correct"], errors="coerce")
    if correct.isna().any() or not correct.isin([0, 1]).all():
        raise DDCFError(f"The {what} file {path} has 'correct' values other than 0/1 (or missing ones).", FIX)
    return pd.DataFrame({
        "model_id": mid.to_numpy(),
        "model": df["model"].astype(str).to_numpy(),
        "question_id": df["question_id"].astype(str).to_numpy(),
        "correct": correct.astype(np.int64).to_numpy(),
        "dataset": df["dataset"].astype(str).to_numpy() if "dataset" in df.columns else "all",
    })


def read_matrix(layout: Layout, columns: Sequence[str] = ("model", "question_id", "correct"),
                optional: Sequence[str] = (), fix: str = FIX) -> tuple[pd.DataFrame, dict]:
    """(the long matrix's ``columns`` [+ ``optional`` ones it has], its metadata); question ids as text."""
    import pyarrow.parquet as pq

    df = read_table(layout.matrix, "correctness matrix", list(columns), fix)
    names = set(pq.read_schema(layout.matrix).names)
    df = df[list(columns) + [c for c in optional if c in names and c not in columns]].copy()
    if "question_id" in df.columns:
        df["question_id"] = df["question_id"].astype(str)
    return df, read_parquet_metadata(layout.matrix)


def write_matrix(layout: Layout, long: pd.DataFrame, model_order: pd.DataFrame, metadata: dict) -> list[Path]:
    """The matrix, its three sides (by its ``split`` column) and model_order.csv, each atomically."""
    files = [write_parquet(long[MATRIX_COLUMNS], layout.matrix, metadata=metadata)]
    for side in SIDES:
        part = long.loc[long["split"] == side, SPLIT_COLUMNS].reset_index(drop=True)
        files.append(write_parquet(part, split_path(layout, side), metadata=metadata))
    files.append(write_model_order(layout, model_order))
    return files
