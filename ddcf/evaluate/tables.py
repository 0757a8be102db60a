"""The paper's Table 2 layout: one row per run, Markdown (best per column in bold) and CSV.

Columns: AIME24, MATH, OlyBen, GSM8k, SAT, ID avg, Minerva, Gaokao, STEM, OOD avg, then the development sets
SVAMP and AMC23.  Cells are percentages (one decimal) of each benchmark's headline metric (pass@1; pass@32
for AIME24 and AMC23); an average is shown only when every benchmark of its group was evaluated.
A † marks a benchmark whose questions overlap the seed questions of the model's selection.
"""

from __future__ import annotations

import math

import pandas as pd

from ddcf.evaluate.benchmarks import BENCHMARKS

ID_COLS = [b.column for b in BENCHMARKS if b.role == "ID"]
OOD_COLS = [b.column for b in BENCHMARKS if b.role == "OOD"]
DEV_COLS = [b.column for b in BENCHMARKS if b.role == "dev"]
COLUMNS = [*ID_COLS, "ID avg", *OOD_COLS, "OOD avg", *DEV_COLS]


def table_row(results: dict, metric: str = "headline") -> dict[str, float | None]:
    """Column -> percentage (None: not evaluated) from a run's results.json content.

    ``metric`` is a per-benchmark key: the headline (the chosen grader's) or e.g. ``pass@1_strict`` (the strict
    verifier's pass@1, reported beside the reference grader's numbers)."""
    by_col = {r["column"]: 100.0 * r[metric] for r in results["benchmarks"].values() if r.get(metric) is not None}
    row: dict[str, float | None] = {}
    for col in COLUMNS:
        if col in ("ID avg", "OOD avg"):
            group = ID_COLS if col == "ID avg" else OOD_COLS
            vals = [by_col.get(c) for c in group]
            row[col] = sum(vals) / len(vals) if all(v is not None for v in vals) else None
        else:
            row[col] = by_col.get(col)
    return row


def flagged_columns(results: dict) -> set[str]:
    return {r["column"] for r in results["benchmarks"].values() if r.get("seed_overlap")}


def best_per_column(rows: list[dict]) -> dict[str, float]:
    best = {}
    for col in COLUMNS:
        vals = [r[col] for r in rows if r.get(col) is not None]
        if vals:
            best[col] = max(round(v, 1) for v in vals)
    return best


def _cell(v: float | None, bold: bool, flag: bool) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    text = f"{v:.1f}" + ("†" if flag else "")
    return f"**{text}**" if bold else text


def markdown(labels: list[str], rows: list[dict], flags: list[set[str]] | None = None, mark_best: bool = True,
             headers: dict[str, str] | None = None) -> str:
    """The table in Markdown; with ``mark_best`` the best value of each column is bold (ties all bold)."""
    flags = flags or [set() for _ in rows]
    best = best_per_column(rows) if mark_best and len(rows) > 1 else {}
    heads = [(headers or {}).get(c, c) for c in COLUMNS]
    lines = ["| run | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for label, row, fl in zip(labels, rows, flags):
        cells = [_cell(row[c], c in best and row[c] is not None and round(row[c], 1) == best[c], c in fl)
                 for c in COLUMNS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def frame(labels: list[str], rows: list[dict]) -> pd.DataFrame:
    """The table as numbers (CSV): one row per run, empty where a benchmark was not evaluated."""
    df = pd.DataFrame(rows, columns=COLUMNS).astype(float).round(2)
    df.insert(0, "run", labels)
    return df


def headline_names(results: dict) -> dict[str, str]:
    """Column -> header with its metric when it is not pass@1 (e.g. 'AIME24 (pass@32)')."""
    return {r["column"]: f"{r['column']} ({r['headline_metric']})" for r in results["benchmarks"].values()
            if r["headline_metric"] != "pass@1"}
