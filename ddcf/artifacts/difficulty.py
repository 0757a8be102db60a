"""Stage 5's table per target model, ``factorized_data/<model>.parquet``: its predicted correctness of every
corpus question.

Columns: question_id, predicted_correctness (+ predicted_correctness_se for factor ensembles: the members'
spread).  The Parquet metadata records the model, its training-row count and the predictor/corpus hashes it was
computed from.  Written by ``ddcf difficulty`` (:func:`write_difficulty`); read by ``ddcf select``,
``ddcf report`` and ``ddcf summary`` (:func:`read_difficulty`, the only reader).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.artifacts.predictor import config_sha256
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import read_json_or_none, read_parquet_metadata, read_table, write_parquet
from ddcf.layout import Layout

COLUMN = "predicted_correctness"
SE_COLUMN = "predicted_correctness_se"  # optional (factor ensembles)
COLUMNS = ("question_id", COLUMN)


def path(layout: Layout, model: str) -> Path:
    return layout.difficulty(model)


def exists(layout: Layout, model: str) -> bool:
    return path(layout, model).is_file()


def fix_for(model: str) -> str:
    return f"run `python fullcorpus_difficulty_estimation.py --model_name {model}` first."


def untrained_fix(model: str) -> str:
    return (f"add verdicts for {model} (infer.py --completions ... or --model_name {model}) and rerun "
            "create_training_data.py and train_correctness_predictor.py, or pick a model the predictor was trained on.")


def read_difficulty(layout: Layout, model: str, optional: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict, Path]:
    """(question_id, predicted_correctness [+ ``optional`` columns present], its metadata, its path), validated:
    computed for ``model``, by a predictor that saw answers of it, ids unique, every value finite in [0, 1]."""
    p = path(layout, model)
    fix = fix_for(model)
    what = f"difficulty table for {model!r}"
    df = read_table(p, what, list(COLUMNS), fix)
    meta = read_parquet_metadata(p)
    if meta.get("model") not in (None, model):
        raise InputMismatchError(f"The difficulty table {p} was computed for the model {meta['model']!r}, not "
                                 f"{model!r}.", fix)
    _check_model_trained(layout, model, meta, p)
    df = df[list(COLUMNS) + [c for c in optional if c in df.columns]].copy()
    df["question_id"] = df["question_id"].astype(str)
    if df["question_id"].duplicated().any():
        dup = df.loc[df["question_id"].duplicated(), "question_id"].iloc[0]
        raise DDCFError(f"The difficulty table {p} repeats the question id {dup!r}.", fix)
    values = pd.to_numeric(df[COLUMN], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0) | (values > 1)
    if bad.any():
        qid = df["question_id"].iloc[int(np.flatnonzero(bad)[0])]
        raise DDCFError(
            f"The difficulty table {p} has {int(bad.sum())} predicted correctness value(s) that are NaN or "
            f"outside [0, 1] (e.g. question {qid!r}).",
            fix,
        )
    df[COLUMN] = df[COLUMN].astype(np.float32)
    return df, meta, p


def _check_model_trained(layout: Layout, model: str, meta: dict, p: Path) -> None:
    """Refuse a table of a model the predictor never saw an answer of (its scores are the random initial
    embedding's): recorded in the table, or in the predictor config the table was computed with."""
    untrained = meta.get("model_train_rows") == 0
    if not untrained and layout.predictor_config.is_file() and meta.get("predictor_config_sha256"):
        # a damaged config is the difficulty stage's to report; the table itself is checked above
        cfg = read_json_or_none(layout.predictor_config) or {}
        trained = cfg.get("models_with_training_rows") if isinstance(cfg, dict) else None
        if trained is not None and model not in trained:
            untrained = config_sha256(cfg) == meta["predictor_config_sha256"]
    if untrained:
        raise DDCFError(
            f"The difficulty table {p} scores {model!r}, but the predictor it came from never saw an answer of "
            "that model (no training rows): its predicted correctness is the output of a random initial embedding.",
            untrained_fix(model),
        )


def write_difficulty(layout: Layout, model: str, df: pd.DataFrame, metadata: dict) -> Path:
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"a difficulty table needs the columns {missing}")
    return write_parquet(df, path(layout, model), metadata={**metadata, "model": model})
