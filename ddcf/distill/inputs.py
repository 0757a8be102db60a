"""What ``ddcf distill`` reads: a finished selection and the corpus rows of its questions, joined by id."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ddcf.artifacts import corpus, selection
from ddcf.errors import DDCFError
from ddcf.io import blank_text
from ddcf.layout import Layout


def read_selection(layout: Layout, sel_dir: Path) -> tuple[pd.DataFrame, dict]:
    """(selection table in rank order, its report.json): :func:`ddcf.artifacts.selection.read_selection`."""
    sel = selection.read_selection(sel_dir)
    return sel.table, sel.report


def selected_questions(layout: Layout, sel: pd.DataFrame) -> tuple[pd.DataFrame, int, bool]:
    """(question_id, rank, question, gold, answer_type, dataset per selected question; corpus size; whether the
    corpus has a gold column).  Joined by question id with DDCF_data/corpus/questions.parquet."""
    fix = "point --workdir at the work directory the selection was made in (its DDCF_data/corpus/questions.parquet)."
    # only the selected rows and the columns used here: the corpus's responses (GBs at paper scale) are not read
    rows = corpus.read_corpus(layout, columns=("question_id", "question"), ids=sel["question_id"].tolist(),
                              optional=("answer", "dataset", "answer_type"), fix=fix)
    has_gold = "answer" in rows.columns
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
    return out, corpus.count(layout), has_gold
