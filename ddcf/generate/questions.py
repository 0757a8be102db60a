"""The seed questions the generation stage answers, in the order it answers them."""

from __future__ import annotations

import hashlib

import pandas as pd

from ddcf.errors import DDCFError
from ddcf.io import blank_text, read_table
from ddcf.layout import Layout

SEED_COLUMNS = ["question_id", "question", "gold"]


def load_seed_questions(layout: Layout, limit: int | None = None) -> pd.DataFrame:
    fix = ("create it with scripts/install_bundled_data.py (bundled data) or create_training_data.py "
           "--correctness_table; it needs the columns question_id, question, gold (+ dataset).")
    df = read_table(layout.seed_questions, "seed question", SEED_COLUMNS, fix)
    if "dataset" not in df.columns:
        df = df.assign(dataset="unknown")
    df = df[["question_id", "question", "gold", "dataset"]].copy()
    for col in ("question_id", "question", "gold"):
        n_bad = int(df[col].isna().sum())
        if n_bad:
            raise DDCFError(f"The seed question file {layout.seed_questions} has {n_bad} missing '{col}' value(s).",
                            fix)
    df["question_id"] = df["question_id"].astype(str)
    df["question"] = df["question"].astype(str)
    df["gold"] = df["gold"].astype(str)
    df["dataset"] = df["dataset"].fillna("unknown").astype(str)
    dup = df["question_id"].duplicated()
    if dup.any():
        raise DDCFError(
            f"The seed question file {layout.seed_questions} repeats {int(dup.sum())} question id(s) "
            f"(e.g. {df.loc[dup, 'question_id'].iloc[0]}).", "give every question a unique id.")
    empty = blank_text(df["question"])
    if empty.any():
        raise DDCFError(f"The seed question file {layout.seed_questions} has {int(empty.sum())} empty question(s) "
                        f"(e.g. {df.loc[empty, 'question_id'].iloc[0]}).", fix)
    if limit is not None:
        df = df.iloc[:limit]
    return df.reset_index(drop=True)


def order_questions(df: pd.DataFrame) -> pd.DataFrame:
    """Dataset, then question length, then id: shared prefixes together, similar lengths together."""
    return (df.assign(_len=df["question"].str.len())
              .sort_values(["dataset", "_len", "question_id"], kind="stable")
              .drop(columns="_len").reset_index(drop=True))


def question_seed(base: int, question_id: str) -> int:
    """Per-question sampling seed: a resumed shard samples what it would have sampled."""
    return int(hashlib.sha256(f"{base}:{question_id}".encode()).hexdigest()[:8], 16)
