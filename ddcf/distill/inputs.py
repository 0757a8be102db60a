"""What ``ddcf distill`` reads: a finished selection and the corpus rows of its questions, joined by id."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ddcf.errors import DDCFError
from ddcf.io import blank_text, read_table
from ddcf.layout import Layout

SELECT_FIX = ("pass the folder that k_greedy_selection.py / ddcf select wrote (it holds selection.parquet and "
              "report.json), e.g. DDCF_data/selection/<model>/lamda0.2_k1000.")


def read_selection(layout: Layout, sel_dir: Path) -> tuple[pd.DataFrame, dict]:
    """(selection table in rank order, its report.json); a clear error for a folder that is no selection."""
    if not sel_dir.is_dir():
        raise DDCFError(f"The selection folder {sel_dir} does not exist.", SELECT_FIX)
    table, report_path = layout.selection_table(sel_dir), layout.selection_report(sel_dir)
    missing = [p.name for p in (table, report_path) if not p.is_file()]
    if missing:
        raise DDCFError(f"{sel_dir} is not a selection folder: it has no {' and no '.join(missing)}.", SELECT_FIX)
    sel = read_table(table, "selection table", ["rank", "question_id"], SELECT_FIX)
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError) as exc:
        raise DDCFError(f"The selection report {report_path} is not readable JSON ({type(exc).__name__}).",
                        "rerun the selection (k_greedy_selection.py) to write it again.") from None
    sel = sel.sort_values("rank", kind="stable").reset_index(drop=True)
    sel["question_id"] = sel["question_id"].astype(str)
    if sel["question_id"].duplicated().any() or sel.empty:
        raise DDCFError(f"The selection table {table} is empty or repeats a question id.",
                        "rerun the selection (k_greedy_selection.py).")
    return sel, report


def selected_questions(layout: Layout, sel: pd.DataFrame) -> tuple[pd.DataFrame, int, bool]:
    """(question_id, rank, question, gold, answer_type, dataset per selected question; corpus size; whether the
    corpus has a gold column).  Joined by question id with DDCF_data/corpus/questions.parquet."""
    fix = "point --workdir at the work directory the selection was made in (its DDCF_data/corpus/questions.parquet)."
    cq = read_table(layout.corpus_questions, "corpus questions", ["question_id", "question"], fix)
    cq = cq.assign(question_id=cq["question_id"].astype(str)).drop_duplicates("question_id")
    has_gold = "answer" in cq.columns
    index = cq.set_index("question_id")
    absent = [q for q in sel["question_id"] if q not in index.index]
    if absent:
        raise DDCFError(
            f"{len(absent):,} selected questions are not in the corpus table {layout.corpus_questions} (e.g. "
            f"{', '.join(map(repr, absent[:3]))}).", fix)
    rows = index.loc[sel["question_id"]].reset_index()
    empty = blank_text(rows["question"])
    if empty.any():
        raise DDCFError(f"{int(empty.sum())} selected questions have no question text in {layout.corpus_questions} "
                        f"(e.g. {rows.loc[empty, 'question_id'].iloc[0]!r}).", "fill in their question text.")
    gold = rows["answer"].where(~blank_text(rows["answer"])) if has_gold else pd.Series([None] * len(rows))
    dataset = rows["dataset"].astype(str) if "dataset" in rows.columns else pd.Series(["unknown"] * len(rows))
    types = rows["answer_type"].fillna("math").astype(str) if "answer_type" in rows.columns else "math"
    out = pd.DataFrame({
        "question_id": rows["question_id"].astype(str).values, "rank": sel["rank"].astype("int64").values,
        "question": rows["question"].astype(str).values,
        "gold": [None if g is None or g != g else str(g) for g in gold],
        "answer_type": types if isinstance(types, str) else types.values,
        "dataset": dataset.values,
    })
    out["grading"] = out["dataset"]  # the verifier picks GSM8K/MATH grading by dataset name
    return out, len(cq), has_gold
