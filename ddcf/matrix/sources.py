"""Where stage 2's verdicts come from: infer.py's per-model tables, a user table, or pass-rate tables.

Every loader returns one long table with columns ``model, question_id, question, correct, dataset``,
``correct`` as floats in [0, 1] with NaN for a missing verdict.  Missing (model, question) pairs are
normal: a model that did not answer a question simply has no row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ddcf.artifacts.seed import read_seed
from ddcf.artifacts.verdicts import coerce_correct, verdict_files
from ddcf.errors import DDCFError
from ddcf.io import blank_text, read_table
from ddcf.layout import PASSRATE_SUFFIX, Layout

USER_TABLE_COLUMNS = ["model", "question_id", "question", "correct"]
def _with_dataset(df: pd.DataFrame) -> pd.DataFrame:
    if "dataset" not in df.columns:
        df["dataset"] = "unknown"
    return df


def _keep_models(df: pd.DataFrame, models: list[str] | None, where: str, fix: str) -> pd.DataFrame:
    """Rows of the ``--models`` subset; naming a model that has no rows is an error."""
    if not models:
        return df
    unknown = sorted(set(models) - set(df["model"]))
    if unknown:
        raise DDCFError(f"--models names model(s) {where}: {', '.join(unknown)}.", fix)
    return df[df["model"].isin(models)]


def load_user_table(path: str | Path, models: list[str] | None = None) -> pd.DataFrame:
    fix = "give a table with one row per (model, question): model, question_id, question, correct (dataset optional)."
    df = read_table(path, "correctness", USER_TABLE_COLUMNS, fix)
    df = df.copy()
    df["model"] = df["model"].astype("string").str.strip()
    df["question_id"] = df["question_id"].astype("string").str.strip()
    if df["model"].isna().any() or (df["model"] == "").any():
        raise DDCFError(f"The correctness table {path} has rows without a model name.", "fill in or drop those rows.")
    if df["question_id"].isna().any() or (df["question_id"] == "").any():
        raise DDCFError(f"The correctness table {path} has rows without a question_id.", "fill in or drop those rows.")
    # An empty or whitespace-only text is no text: the question would be embedded (and later fine-tuned on) as "".
    df["question"] = df["question"].where(~blank_text(df["question"]))
    has_text = df["question"].notna().groupby(df["question_id"]).any()
    if not has_text.all():
        ids = has_text.index[~has_text].tolist()
        raise DDCFError(
            f"The correctness table {path} has {len(ids):,} question id(s) whose question text is empty or only "
            f"whitespace in every row (e.g. {', '.join(map(repr, ids[:5]))}).",
            "fill in the question text of those ids, or drop their rows.",
        )
    texts = df.groupby("question_id")["question"].nunique(dropna=True)
    if (texts > 1).any():
        qid = texts[texts > 1].index[0]
        raise DDCFError(
            f"In {path} the question id {qid!r} appears with different question texts.",
            "give each distinct question its own id.",
        )
    df["correct"] = coerce_correct(df["correct"], path)
    df = _with_dataset(df)
    return _keep_models(df, models, f"absent from {path}", "check the spelling against the table's 'model' column.")


def load_verdict_tables(layout: Layout, models: list[str] | None = None) -> pd.DataFrame:
    vdir = layout.verdicts_dir
    files = verdict_files(layout)
    if not files:
        raise DDCFError(
            f"No per-model verdict tables were found in {vdir}.",
            "run infer.py first (e.g. python infer.py --completions data/bundled/seed_completions.parquet), "
            "or pass your own table with --correctness_table.",
        )
    need = ["model", "question_id", "question", "correct"]
    frames = [read_table(p, "verdict", need, "rerun infer.py for that model (add --reverify).") for p in files]
    df = pd.concat(frames, ignore_index=True)
    if models:
        known = ", ".join(sorted(df["model"].unique())[:8])
        fix = f"check the spelling; known models: {known} ..."
        df = _keep_models(df, models, f"with no verdict table in {vdir}", fix)
    df["correct"] = coerce_correct(df["correct"], vdir)
    return _with_dataset(df)


def load_pass_rate_tables(layout: Layout, threshold: float) -> pd.DataFrame:
    """Verdicts from the ``<model>.passrate.parquet`` tables of sampled generation."""
    vdir = layout.verdicts_dir
    files = sorted(vdir.glob(f"*{PASSRATE_SUFFIX}")) if vdir.is_dir() else []
    if not files:
        raise DDCFError(
            f"--from_pass_rates was given but {vdir} holds no *{PASSRATE_SUFFIX} tables.",
            "generate with infer.py --n K --temperature T first, or drop --from_pass_rates.",
        )
    frames = []
    for p in files:
        t = read_table(p, "pass-rate", ["question_id", "pass_rate"], "rerun infer.py --n K for that model.")
        if "model" not in t.columns:
            t = t.assign(model=p.name[: -len(PASSRATE_SUFFIX)])
        frames.append(t)
    df = pd.concat(frames, ignore_index=True)
    # Question text and dataset come from the seed table.
    seed = read_seed(layout, columns=("question_id", "question"), optional=("dataset",), fix="run infer.py first.",
                     check_blank=False)
    keep = list(seed.columns)
    df = df.drop(columns=[c for c in ("question", "dataset") if c in df.columns])
    df = _with_dataset(df.merge(seed[keep], on="question_id", how="left"))
    df["correct"] = (df["pass_rate"].astype(float) >= threshold).astype(float)
    return df
