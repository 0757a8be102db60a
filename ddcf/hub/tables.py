"""Reading the Parquet files of a published ``datasets`` split: column checks, whole reads, per-model reads.

The correctness repo holds one row per (model, question) with each model's full completion: tens of
models x 19,470 questions, GBs of text.  :func:`model_row_groups` reads only the ``model`` column to learn
which row groups hold which model, so :func:`read_model_rows` loads one model's rows at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from ddcf.errors import DDCFError, first_line


def check_columns(files: Sequence[Path], columns: Sequence[str], what: str, fix: str) -> None:
    """Every file has the published ``columns`` (a mismatched repo is named with the columns it does have)."""
    import pyarrow.parquet as pq

    for f in files:
        try:
            names = pq.read_schema(f).names
        except Exception as exc:  # noqa: BLE001 - a damaged or partial file: one clear message
            raise DDCFError(f"Could not read the {what} file {f}: {first_line(exc)} (is it a partial download?).",
                            fix) from None
        missing = [c for c in columns if c not in names]
        if missing:
            raise DDCFError(f"The {what} file {f} lacks the published column(s) {', '.join(missing)}; it has: "
                            f"{', '.join(names)}.", fix)


def read_columns(files: Sequence[Path], columns: Sequence[str], what: str, fix: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_columns(files, columns, what, fix)
    try:
        table = pa.concat_tables([pq.read_table(f, columns=list(columns)) for f in files], promote_options="default")
    except Exception as exc:  # noqa: BLE001
        raise DDCFError(f"Could not read the {what} ({first_line(exc)}).", fix) from None
    return table.to_pandas()


def model_row_groups(files: Sequence[Path], what: str, fix: str) -> dict[str, list[tuple[Path, int]]]:
    """Published model name -> the (file, row group) pairs holding its rows, in file order."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    where: dict[str, list[tuple[Path, int]]] = {}
    for f in files:
        try:
            pf = pq.ParquetFile(f)
            for rg in range(pf.num_row_groups):
                col = pf.read_row_group(rg, columns=["model"]).column("model")
                for name in pc.unique(col).to_pylist():
                    where.setdefault("" if name is None else str(name), []).append((f, rg))
        except Exception as exc:  # noqa: BLE001
            raise DDCFError(f"Could not read the {what} file {f}: {first_line(exc)} (is it a partial download?).",
                            fix) from None
    return where


def read_model_rows(parts: Sequence[tuple[Path, int]], model: str, columns: Sequence[str]) -> pd.DataFrame:
    """The rows of one published ``model`` from its row groups."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tables = []
    for f, rg in parts:
        t = pq.ParquetFile(f).read_row_group(rg, columns=list(columns))
        tables.append(t.filter(pc.equal(t.column("model"), model)))
    return pa.concat_tables(tables, promote_options="default").to_pandas()
