"""Collapse the verdicts into one row per (model, question), number the models, split and write.

When a pair appears several times (n sampled completions), its verdicts are averaged into a pass
rate and thresholded with ``pass_threshold``.  The split (train / val / test by question, see
``split.py``) is the ``split`` column of matrix.parquet and the three tables train/val/test.parquet;
test.parquet is written (empty) even without a test side, so a stale one never survives a rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.artifacts.matrix import MATRIX_COLUMNS, write_matrix
from ddcf.artifacts.seed import write_seed
from ddcf.errors import DDCFError
from ddcf.io import hash_ids
from ddcf.layout import Layout
from ddcf.matrix.config import MatrixConfig
from ddcf.matrix.sources import load_pass_rate_tables, load_user_table, load_verdict_tables
from ddcf.matrix.split import SIDES, order_models, split_by_question

PRODUCED_BY = "create_training_data.py"


@dataclass
class MatrixResult:
    matrix: pd.DataFrame
    model_order: pd.DataFrame
    n_train_questions: int
    n_val_questions: int
    source: str
    files: list[Path]
    n_test_questions: int = 0
    split: dict | None = None  # the options and counts recorded in the Parquet metadata


def collapse(df: pd.DataFrame, pass_threshold: float) -> pd.DataFrame:
    """One row per (model, question); repeated verdicts become a thresholded pass rate."""
    df = df.dropna(subset=["correct"])
    g = df.groupby(["model", "question_id"], sort=False)
    agg = g.agg(pass_rate=("correct", "mean"), n=("correct", "size"), dataset=("dataset", "first")).reset_index()
    agg["correct"] = (agg["pass_rate"] >= pass_threshold).astype(np.int8)
    return agg


def _model_order_table(long: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    stats = long.groupby("model").agg(n_answered=("correct", "size"), accuracy=("correct", "mean"))
    mo = pd.DataFrame({"model_id": range(len(order)), "model": order})
    mo = mo.merge(stats, left_on="model", right_index=True, how="left")
    mo["n_answered"] = mo["n_answered"].fillna(0).astype(int)
    mo["accuracy"] = mo["accuracy"].round(4)
    return mo


def build_matrix(
    layout: Layout,
    correctness_table: str | Path | None = None,
    models: list[str] | None = None,
    val_ratio: float = 0.1,
    seed: int = 42,
    pass_threshold: float = 0.5,
    from_pass_rates: bool = False,
    test_ratio: float = 0.1,
    folds: int = 0,
    fold: int = 0,
) -> MatrixResult:
    """Stage 2 as a library call; the keyword arguments are :class:`MatrixConfig`'s options."""
    # The option rules (ranges) live in the config class only; a library caller gets the same errors.
    MatrixConfig(correctness_table=None if correctness_table is None else str(correctness_table), models=models,
                 val_ratio=val_ratio, test_ratio=test_ratio, folds=folds, fold=fold, seed=seed,
                 pass_threshold=pass_threshold, from_pass_rates=from_pass_rates).validate()
    files: list[Path] = []
    if correctness_table:
        raw = load_user_table(correctness_table, models)
        source = str(correctness_table)
        files.append(_write_seed_questions(layout, raw))
    elif from_pass_rates:
        raw = load_pass_rate_tables(layout, pass_threshold)
        source = f"{layout.verdicts_dir} (pass rates >= {pass_threshold})"
    else:
        raw = load_verdict_tables(layout, models)
        source = str(layout.verdicts_dir)

    long = collapse(raw, pass_threshold)
    if long.empty:
        raise DDCFError(f"No usable verdicts in {source}: every 'correct' cell is empty.", "check the input table.")
    order = order_models(long["model"].unique().tolist(), layout.model_order)
    model_id = {m: i for i, m in enumerate(order)}
    long["model_id"] = long["model"].map(model_id).astype(np.int64)

    # A question's stratum is its dataset (the first name if the models disagree), whatever models answered it.
    strata = long["dataset"].astype("string").groupby(long["question_id"]).min().fillna("").to_dict()
    side = split_by_question(strata.keys(), val_ratio, test_ratio, seed, strata=strata, folds=folds, fold=fold)
    long["split"] = long["question_id"].map(side)
    long = long.sort_values(["model_id", "question_id"], kind="stable").reset_index(drop=True)
    long = long[MATRIX_COLUMNS]
    mo = _model_order_table(long, order)
    counts = {s: sum(v == s for v in side.values()) for s in SIDES}
    split = {"val_ratio": val_ratio, "test_ratio": None if folds else test_ratio, "folds": folds,
             "fold": fold if folds else None, "seed": seed,
             "stratified_by": "dataset" if len(set(strata.values())) > 1 else None,
             **{f"n_{s}_questions": counts[s] for s in SIDES}}

    meta = {
        "produced_by": PRODUCED_BY,
        "source": source,
        **split,
        "pass_threshold": pass_threshold,
        "models": order,
        "question_ids_sha256": hash_ids(sorted(long["question_id"].unique())),
    }
    files += write_matrix(layout, long, mo, meta)
    return MatrixResult(
        matrix=long,
        model_order=mo,
        n_train_questions=counts["train"],
        n_val_questions=counts["val"],
        source=source,
        files=files,
        n_test_questions=counts["test"],
        split=split,
    )


def _write_seed_questions(layout: Layout, raw: pd.DataFrame) -> Path:
    cols = ["question_id", "question"] + [c for c in ("gold", "dataset") if c in raw.columns]
    q = raw[cols].dropna(subset=["question"]).drop_duplicates("question_id").sort_values("question_id")
    return write_seed(layout, q.reset_index(drop=True), provenance={"source": PRODUCED_BY})
