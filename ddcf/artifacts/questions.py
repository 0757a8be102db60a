"""The one validated read of a question table (seed or corpus), shared by :mod:`ddcf.artifacts.seed` and
:mod:`ddcf.artifacts.corpus`.

Both are Parquet files keyed by ``question_id``; a stage reads only the columns it needs and, when it outputs a
few rows, only those rows (a filtered read: the paper's corpus has ~10k-character responses per row).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from ddcf.errors import DDCFError, InputMismatchError, first_line
from ddcf.io import blank_text, require_file


def table_columns(p: Path, what: str, fix: str) -> list[str]:
    """A question table's column names (its schema only: no row is read)."""
    import pyarrow.parquet as pq

    p = require_file(p, what, fix)
    try:
        return list(pq.read_schema(p).names)
    except Exception as exc:  # noqa: BLE001 - any parser error becomes one clear message
        raise DDCFError(f"Could not read the {what} file {p}: {type(exc).__name__}: {first_line(exc)}.",
                        f"check that it is a valid Parquet file; {fix}") from None


def read_question_table(p: Path, what: str, columns: Sequence[str], *, ids: Sequence[str] | None = None,
                        optional: Sequence[str] = (), defaults: dict | None = None, fix: str,
                        check_blank: bool = False, required: Sequence[str] = ("question_id", "question"),
                        ) -> pd.DataFrame:
    """``columns`` (+ ``optional`` ones the file has) of the table ``p``, validated: ``required`` columns
    present, rows present, question ids unique (compared as text, returned as text).  A column of ``defaults``
    the file lacks is filled with its default; any other missing column is an error.  ``ids``: only those rows,
    in that order (an absent id is an error).  ``check_blank``: refuse an empty question among the rows read."""
    import pyarrow.parquet as pq

    defaults = defaults or {}
    names = table_columns(p, what, fix)
    missing = [c for c in required if c not in names]
    missing += [c for c in columns if c not in names and c not in defaults and c not in missing]
    if missing:
        raise DDCFError(f"The {what} file {p} lacks the column(s) {', '.join(missing)}; it has: "
                        f"{', '.join(names) or '(none)'}.", fix)
    wanted = list(dict.fromkeys(["question_id", *columns, *(c for c in optional if c in names)]))
    stored = [c for c in wanted if c in names]
    try:
        all_ids = pq.read_table(p, columns=["question_id"]).column("question_id").to_pandas()
        df = pq.read_table(p, columns=stored).to_pandas() if ids is None else _read_rows(p, stored, ids)
    except Exception as exc:  # noqa: BLE001 - any parser error becomes one clear message
        raise DDCFError(f"Could not read the {what} file {p}: {type(exc).__name__}: {first_line(exc)}.",
                        f"check that it is a valid Parquet file; {fix}") from None
    if len(all_ids) == 0:
        raise DDCFError(f"The {what} file {p} has no rows.", fix)
    if all_ids.isna().any():
        raise DDCFError(f"The {what} file {p} has {int(all_ids.isna().sum())} row(s) without a question id.",
                        "give every question an id.")
    all_ids = all_ids.astype(str)
    dup = all_ids.duplicated()
    if dup.any():
        raise DDCFError(f"The {what} table {p} repeats {int(dup.sum())} question id(s) (e.g. "
                        f"{all_ids[dup].iloc[0]!r}).", "make question ids unique and rerun stages 3 and 5.")
    df["question_id"] = df["question_id"].astype(str)
    if ids is not None:
        df = _in_order(df, ids, p, what)
    for column in wanted:
        if column not in df.columns:
            df[column] = defaults[column]
    df = df[wanted].reset_index(drop=True)
    if check_blank and "question" in df.columns:
        empty = blank_text(df["question"])
        if empty.any():
            raise DDCFError(
                f"The {what} file {p} has {int(empty.sum()):,} empty question text(s) (empty or only whitespace; "
                f"e.g. {', '.join(map(repr, df.loc[empty, 'question_id'].head(5)))}).",
                "drop those rows or fill in their text; an empty text has no meaningful embedding and would reach "
                "the fine-tuning data as an empty prompt.")
    return df


#: rows per batch of a filtered read (a buffered read decodes page by page: one batch of text in memory)
BATCH_ROWS = 8192


def _read_rows(p: Path, columns: list[str], ids: Sequence[str]) -> pd.DataFrame:
    """Only the rows of ``ids``: a filtered read, batch by batch, so the texts of the other rows never reach memory
    (a filter over a whole row group would decode it whole: 1.5 GB for the published corpus's one row group)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    f = pq.ParquetFile(p, buffer_size=1 << 20)
    kind = f.schema_arrow.field("question_id").type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        wanted = pa.array(list(map(str, ids)), kind)
        parts = [b.filter(pc.is_in(b.column(columns.index("question_id")), value_set=wanted))
                 for b in f.iter_batches(batch_size=BATCH_ROWS, columns=columns)]
        schema = pa.schema([f.schema_arrow.field(c) for c in columns])
        return pa.Table.from_batches([b for b in parts if b.num_rows], schema=schema).to_pandas()
    df = f.read(columns=columns).to_pandas()  # numeric ids in a hand-made table: compare as text
    return df[df["question_id"].astype(str).isin(set(map(str, ids)))]


def _in_order(df: pd.DataFrame, ids: Sequence[str], p: Path, what: str) -> pd.DataFrame:
    index = df.set_index("question_id")
    wanted = list(map(str, ids))
    absent = [q for q in wanted if q not in index.index]
    if absent:
        raise InputMismatchError(
            f"{len(absent):,} of the {len(wanted):,} questions asked for are not in the {what} table {p} (e.g. "
            f"{', '.join(map(repr, absent[:3]))}).",
            "point --workdir at the work directory they were made in, or rerun stages 3 and 5 on the current "
            "question table.")
    return index.loc[wanted].reset_index()
