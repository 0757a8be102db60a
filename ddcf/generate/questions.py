"""The seed questions the generation stage answers, in the order it answers them, and ``--questions`` lists."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from ddcf.artifacts.seed import read_seed
from ddcf.errors import DDCFError
from ddcf.io import blank_text, read_table, require_file
from ddcf.layout import Layout

SEED_COLUMNS = ["question_id", "question", "gold"]


def load_seed_questions(layout: Layout, limit: int | None = None) -> pd.DataFrame:
    """The seed questions stage 1 answers (question_id, question, gold, dataset [+ type]), validated by the one
    seed reader; the first ``limit`` rows when given."""
    df = read_seed(layout, columns=SEED_COLUMNS + ["dataset"], optional=("type",))
    return (df.iloc[:limit] if limit is not None else df).reset_index(drop=True)


def order_questions(df: pd.DataFrame) -> pd.DataFrame:
    """Dataset, then question length, then id: shared prefixes together, similar lengths together."""
    return (df.assign(_len=df["question"].str.len())
              .sort_values(["dataset", "_len", "question_id"], kind="stable")
              .drop(columns="_len").reset_index(drop=True))


def question_seed(base: int, question_id: str) -> int:
    """Per-question sampling seed: a resumed shard samples what it would have sampled."""
    return int(hashlib.sha256(f"{base}:{question_id}".encode()).hexdigest()[:8], 16)


# --------------------------------------------------------------------------- --questions FILE
TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".jsonl", ".json")
LIST_FIX = ("list ids of the seed questions table DDCF_data/seed/questions.parquet (its question_id column): a "
            "text file with one id per line, or a CSV/Parquet table with a question_id column.")


def read_question_list(path: str) -> list[str]:
    """The distinct question ids of a ``--questions`` file, in file order.

    A table (by extension) needs a ``question_id`` column, other columns are ignored; anything else is read as
    text, one id per line, blank lines and ``#`` comments skipped (a first line ``question_id`` is a header)."""
    p = Path(path)
    if p.suffix.lower() in TABLE_SUFFIXES:
        df = read_table(p, "question list (--questions)", ["question_id"], LIST_FIX)
        blank = blank_text(df["question_id"])
        if blank.any():
            raise DDCFError(f"The question list {p} (--questions) has {int(blank.sum())} empty question_id "
                            f"cell(s) (first at row {int(blank.to_numpy().argmax()) + 1}).", LIST_FIX)
        ids = [str(q).strip() for q in df["question_id"]]
    else:
        require_file(p, "question list (--questions)", LIST_FIX)
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DDCFError(f"Could not read the question list {p} (--questions) as UTF-8 text: "
                            f"{type(exc).__name__}.", LIST_FIX) from None
        ids = [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]
        if ids[:1] == ["question_id"]:
            ids = ids[1:]
    if not ids:
        raise DDCFError(f"The question list {p} (--questions) lists no question ids.", LIST_FIX)
    return list(dict.fromkeys(ids))


def listed_questions(seed: pd.DataFrame, path: str, limit: int | None = None) -> frozenset[str]:
    """The ids of ``path`` (``--questions``), checked against the seed questions the run uses."""
    ids = read_question_list(path)
    known = set(seed["question_id"])
    unknown = [q for q in ids if q not in known]
    if unknown:
        where = f"the first {limit} seed questions (--limit {limit})" if limit else "the seed questions table"
        raise DDCFError(
            f"The question list {path} (--questions) names {len(unknown)} of its {len(ids)} question id(s) that "
            f"are not in {where}: {', '.join(map(repr, unknown[:5]))}{', ...' if len(unknown) > 5 else ''}.",
            "use ids of the seed questions table DDCF_data/seed/questions.parquet (its question_id column; the "
            "list must come from the same seed set, e.g. written by ddcf probe plan in this work dir)"
            + (", or drop --limit" if limit else "") + ".")
    return frozenset(ids)
