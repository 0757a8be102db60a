"""The completions table (verify's input: one row per model and question): its columns, its checks, and the
seed question table it implies.

Here rather than in the verify stage because ``ddcf install-bundled`` reads the bundled completions with the
same columns and derives the seed questions the same way (it imports this module; this module imports no stage).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ddcf.artifacts.seed import COLUMNS as SEED_COLUMNS
from ddcf.errors import DDCFError, first_line
from ddcf.io import blank_text

COMPLETION_COLUMNS = ["model", "question_id", "question", "gold", "completion"]


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def check_completions(df: pd.DataFrame, what: str) -> None:
    missing = [c for c in COMPLETION_COLUMNS if c not in df.columns]
    if missing:
        raise DDCFError(
            f"The {what} lacks the column(s) {', '.join(missing)}; it has: {', '.join(map(str, df.columns))}.",
            f"provide a table with the columns {', '.join(COMPLETION_COLUMNS)} (and optionally dataset).",
        )
    for col in ("model", "question_id", "question", "gold"):
        bad = blank_text(df[col])
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


def _bad_cell(x) -> str | None:
    """Why ``x`` is no text cell (None when it is one, or missing, or a number / bool written as text)."""
    if x is None or isinstance(x, str) or (isinstance(x, float) and math.isnan(x)):
        return None
    if isinstance(x, (bool, int, float, np.integer, np.floating, np.bool_)):
        return None
    if isinstance(x, (bytes, bytearray, memoryview)):
        try:
            bytes(x).decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"bytes that are not valid UTF-8 (byte 0x{bytes(x)[exc.start]:02x} at offset {exc.start})"
        return None
    return f"a {type(x).__name__} ({first_line(repr(x), 60)})"


def text_columns(df: pd.DataFrame, what: str) -> pd.DataFrame:
    """``df`` with bytes in its text columns decoded, or a DDCFError for content that is not text.

    Unambiguous cells are converted: UTF-8 bytes (a Parquet binary column) are decoded and numbers
    are written as text (CSV question ids).  Bytes that are not UTF-8, lists, dicts or other
    objects stop the run with the file, column and row named: ``str()`` of them would be
    graded as if it were the text (``"b'...'"``, ``"[1, 2]"``).
    """
    out = {}
    for col in [*COMPLETION_COLUMNS, "dataset"]:
        if col not in df.columns or df[col].dtype != object:
            continue  # a numeric column reads as text unambiguously; str columns need nothing
        values = df[col].tolist()
        for row, x in zip(df.index, values):
            why = _bad_cell(x)
            if why is not None:
                raise DDCFError(
                    f"The {what} has non-text content in column '{col}' (row {row}: {why}).",
                    f"store '{col}' as text (UTF-8 strings) in every row.",
                )
        if any(isinstance(x, (bytes, bytearray, memoryview)) for x in values):
            out[col] = [bytes(x).decode("utf-8") if isinstance(x, (bytes, bytearray, memoryview)) else x
                        for x in values]
    return df.assign(**out) if out else df


def seed_questions_from_completions(completions: pd.DataFrame) -> pd.DataFrame:
    """One row per question id (question, gold, dataset) from a completions table."""
    cols = [c for c in SEED_COLUMNS if c in completions.columns]
    q = completions[cols].drop_duplicates("question_id", keep="first")
    if "dataset" not in q.columns:
        q = q.assign(dataset="unknown")
    return q.sort_values("question_id", kind="stable").reset_index(drop=True)
