"""A selection run's folder, ``DDCF_data/selection/<model>/<run>/``: the same files for every selector.

``selection.parquet`` (rank, question_id, predicted_correctness, ...; its Parquet metadata records the inputs),
``report.json`` (method, model, k, statistics), ``dataset/`` (the SFT-ready Hugging Face dataset),
``report.png`` and ``select.config.yaml``.  ``ddcf select`` writes them (the whole folder swapped in at once,
:func:`ddcf.io.atomic_dir`); ``ddcf report``, ``ddcf distill``, ``ddcf summary``, ``ddcf push`` and
``ddcf sft`` read them through :func:`read_selection` / :func:`read_selection_table`, the only readers.

Runs made before the rename call predicted correctness ``difficulty`` (a ``difficulty`` column in
selection.parquet, ``mean_difficulty`` / ``median_difficulty`` in report.json): both spellings are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ddcf.errors import DDCFError, first_line
from ddcf.io import current_dir, read_parquet_metadata, read_side_file, require_file, write_json, write_parquet
from ddcf.layout import Layout

COLUMN = "predicted_correctness"  # the selection table's column (as in factorized_data/<model>.parquet)
#: the columns every selector's table has (selectors add their own, e.g. cost, max_similarity)
COLUMNS = ("rank", "question_id")
#: names older runs wrote -> the current name (selection.parquet columns and report.json keys)
LEGACY_NAMES = {
    "difficulty": COLUMN,
    "mean_difficulty": "mean_predicted_correctness",
    "median_difficulty": "median_predicted_correctness",
}
FIX = ("pass the folder that k_greedy_selection.py / ddcf select wrote (it holds selection.parquet and "
       "report.json), e.g. DDCF_data/selection/<model>/lamda0.2_k1000.")
RERUN = "rerun the selection (k_greedy_selection.py / ddcf select) to write it again."


@dataclass
class SelectionFiles:
    folder: Path
    table: pd.DataFrame  # selection.parquet, rank order, question_id as text
    report: dict  # report.json
    meta: dict  # selection.parquet's metadata (the inputs it was made from)
    options: dict = field(default_factory=dict)  # select.config.yaml ({} when absent or unreadable)

    @property
    def ids(self) -> list[str]:
        return self.table["question_id"].tolist()


def paths(run_dir: Path) -> dict[str, Path]:
    return {"table": Layout.selection_table(run_dir), "report": Layout.selection_report(run_dir),
            "dataset": Layout.selection_dataset(run_dir), "plot": Layout.selection_plot(run_dir),
            "options": Layout.resolved_config(run_dir, "select")}


def read_selection_table(path: str | Path, fix: str = FIX) -> pd.DataFrame:
    """A selection.parquet, validated (rank and question_id present, rows, unique ids), in rank order with
    question ids as text; an older run's ``difficulty`` column is read as ``predicted_correctness``."""
    p = require_file(path, "selection table", fix)
    try:
        sel = pd.read_parquet(p)
    except Exception as exc:  # noqa: BLE001 - a damaged file becomes one clear message
        raise DDCFError(f"Could not read the selection table {p}: {type(exc).__name__}: {first_line(exc)}.",
                        RERUN) from None
    sel = sel.rename(columns={old: new for old, new in LEGACY_NAMES.items()
                              if old in sel.columns and new not in sel.columns})
    missing = [c for c in COLUMNS if c not in sel.columns]
    if missing:
        raise DDCFError(f"The selection table {p} lacks the column(s) {', '.join(missing)}; it has: "
                        f"{', '.join(map(str, sel.columns)) or '(none)'}.", RERUN)
    if sel.empty:
        raise DDCFError(f"The selection table {p} has no rows.", RERUN)
    sel = sel.sort_values("rank", kind="stable").reset_index(drop=True)
    sel["question_id"] = sel["question_id"].astype(str)
    if sel["question_id"].duplicated().any():
        dup = sel.loc[sel["question_id"].duplicated(), "question_id"].iloc[0]
        raise DDCFError(f"The selection table {p} repeats the question id {dup!r}.", RERUN)
    return sel


def read_selection(folder: str | Path, fix: str = FIX) -> SelectionFiles:
    """A selection folder (the one a half-finished swap set aside, while a rerun writes it), validated: its
    table (:func:`read_selection_table`) and its report.json (a JSON object) must both be there."""
    folder = current_dir(folder)
    if not Path(folder).is_dir():
        raise DDCFError(f"The selection folder {folder} does not exist.", fix)
    files = paths(folder)
    missing = [p.name for p in (files["table"], files["report"]) if not p.is_file()]
    if missing:
        raise DDCFError(f"{folder} is not a selection folder: it has no {' and no '.join(missing)}.", fix)
    table = read_selection_table(files["table"], fix)
    report = read_report(folder)
    options = {}
    if files["options"].is_file():
        try:
            options = read_side_file(files["options"], "selection options", RERUN, (dict, type(None))) or {}
        except DDCFError:
            options = {}  # only consulted for details (e.g. passrate_source); the table and report are the record
    return SelectionFiles(folder=Path(folder), table=table, report=report,
                          meta=read_parquet_metadata(files["table"]), options=options)


def read_report(run_dir: str | Path) -> dict:
    """A selection's report.json (a JSON object)."""
    return read_side_file(Layout.selection_report(Path(run_dir)), "selection report", RERUN)


def block_value(block: dict, key: str):
    """``block[key]`` of a report.json block, falling back to the name an older run used for it."""
    if key in block:
        return block[key]
    old = [k for k, new in LEGACY_NAMES.items() if new == key]
    return block.get(old[0]) if old else None


def write_selection_table(table: pd.DataFrame, run_dir: Path, metadata: dict) -> Path:
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"a selection table needs the columns {missing}")
    return write_parquet(table, Layout.selection_table(run_dir), metadata=metadata)


def write_selection_report(report: dict, run_dir: Path) -> Path:
    return write_json(report, Layout.selection_report(run_dir))
