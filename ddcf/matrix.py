"""Stage 2: the long-format correctness matrix, the model order, and the split.

Input is either the per-model verdict tables written by ``infer.py`` or one
user table with columns ``model, question_id, question, correct`` (CSV or
Parquet).  Missing (model, question) pairs are normal: a model that did not
answer a question simply has no row.  When a pair appears several times (n
sampled completions), its verdicts are averaged into a pass rate and
thresholded with ``pass_threshold``.

The split is *by question*: every row of a validation question is held out,
so validation measures generalisation to unseen questions, which is what the
predictor is used for on the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.errors import DDCFError
from ddcf.io import hash_ids, read_table, write_csv, write_parquet
from ddcf.layout import Layout

USER_TABLE_COLUMNS = ["model", "question_id", "question", "correct"]
_TRUE = {"1", "true", "t", "yes", "y", "correct", "1.0"}
_FALSE = {"0", "false", "f", "no", "n", "incorrect", "wrong", "0.0"}


@dataclass
class MatrixResult:
    matrix: pd.DataFrame
    model_order: pd.DataFrame
    n_train_questions: int
    n_val_questions: int
    source: str


def _coerce_correct(values: pd.Series, path: Path | str) -> pd.Series:
    """Map booleans, 0/1 and common words to floats in [0, 1]; NaN stays NaN (= missing)."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        v = values.astype(float)
    else:
        s = values.astype("string").str.strip().str.lower()
        v = pd.Series(np.nan, index=values.index, dtype=float)
        v[s.isin(_TRUE)] = 1.0
        v[s.isin(_FALSE)] = 0.0
        unknown = s.notna() & ~s.isin(_TRUE | _FALSE) & ~s.isin({"", "nan", "none", "null"})
        if unknown.any():
            bad = s[unknown].iloc[0]
            raise DDCFError(
                f"The column 'correct' in {path} holds {int(unknown.sum())} value(s) that are not a verdict "
                f"(e.g. {bad!r}).",
                "use 1/0, true/false, or leave the cell empty for a missing verdict.",
            )
    out_of_range = v.notna() & ((v < 0) | (v > 1))
    if out_of_range.any():
        raise DDCFError(
            f"The column 'correct' in {path} has values outside [0, 1] (e.g. {v[out_of_range].iloc[0]}).",
            "use 1 for correct and 0 for wrong (pass rates in [0, 1] are also accepted).",
        )
    return v


def load_user_table(path: str | Path) -> pd.DataFrame:
    fix = "give a table with one row per (model, question): model, question_id, question, correct (dataset optional)."
    df = read_table(path, "correctness", USER_TABLE_COLUMNS, fix)
    df = df.copy()
    df["model"] = df["model"].astype("string").str.strip()
    df["question_id"] = df["question_id"].astype("string").str.strip()
    if df["model"].isna().any() or (df["model"] == "").any():
        raise DDCFError(f"The correctness table {path} has rows without a model name.", "fill in or drop those rows.")
    if df["question_id"].isna().any() or (df["question_id"] == "").any():
        raise DDCFError(f"The correctness table {path} has rows without a question_id.", "fill in or drop those rows.")
    texts = df.groupby("question_id")["question"].nunique(dropna=True)
    if (texts > 1).any():
        qid = texts[texts > 1].index[0]
        raise DDCFError(
            f"In {path} the question id {qid!r} appears with different question texts.",
            "give each distinct question its own id.",
        )
    df["correct"] = _coerce_correct(df["correct"], path)
    if "dataset" not in df.columns:
        df["dataset"] = "unknown"
    return df


def load_verdict_tables(layout: Layout, models: list[str] | None = None) -> pd.DataFrame:
    vdir = layout.verdicts_dir
    files = sorted(p for p in vdir.glob("*.parquet") if not p.name.endswith(".passrate.parquet")) if vdir.is_dir() else []
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
        unknown = sorted(set(models) - set(df["model"]))
        if unknown:
            raise DDCFError(
                f"--models names model(s) with no verdict table in {vdir}: {', '.join(unknown)}.",
                "check the spelling; known models: " + ", ".join(sorted(df["model"].unique())[:8]) + " ...",
            )
        df = df[df["model"].isin(models)]
    df["correct"] = _coerce_correct(df["correct"], vdir)
    if "dataset" not in df.columns:
        df["dataset"] = "unknown"
    return df


def load_pass_rate_tables(layout: Layout, threshold: float) -> pd.DataFrame:
    """Verdicts from the ``<model>.passrate.parquet`` tables of sampled generation."""
    vdir = layout.verdicts_dir
    files = sorted(vdir.glob("*.passrate.parquet")) if vdir.is_dir() else []
    if not files:
        raise DDCFError(
            f"--from_pass_rates was given but {vdir} holds no *.passrate.parquet tables.",
            "generate with infer.py --n K --temperature T first, or drop --from_pass_rates.",
        )
    frames = []
    for p in files:
        t = read_table(p, "pass-rate", ["question_id", "pass_rate"], "rerun infer.py --n K for that model.")
        if "model" not in t.columns:
            meta_model = p.name[: -len(".passrate.parquet")]
            t = t.assign(model=meta_model)
        frames.append(t)
    df = pd.concat(frames, ignore_index=True)
    # Question text and dataset come from the seed table.
    seed = read_table(layout.seed_questions, "seed question", ["question_id", "question"], "run infer.py first.")
    keep = ["question_id", "question"] + (["dataset"] if "dataset" in seed.columns else [])
    df = df.drop(columns=[c for c in ("question", "dataset") if c in df.columns]).merge(seed[keep], on="question_id", how="left")
    if "dataset" not in df.columns:
        df["dataset"] = "unknown"
    df["correct"] = (df["pass_rate"].astype(float) >= threshold).astype(float)
    return df


def _collapse(df: pd.DataFrame, pass_threshold: float) -> pd.DataFrame:
    """One row per (model, question); repeated verdicts become a thresholded pass rate."""
    df = df.dropna(subset=["correct"])
    g = df.groupby(["model", "question_id"], sort=False)
    agg = g.agg(pass_rate=("correct", "mean"), n=("correct", "size"), dataset=("dataset", "first")).reset_index()
    agg["correct"] = (agg["pass_rate"] >= pass_threshold).astype(np.int8)
    return agg


def order_models(models: list[str], existing_order: Path) -> list[str]:
    """Keep the order of an existing model_order.csv; append new models alphabetically."""
    listed: list[str] = []
    if existing_order.exists() and existing_order.stat().st_size:
        prev = pd.read_csv(existing_order)
        col = "model" if "model" in prev.columns else ("model_name" if "model_name" in prev.columns else None)
        if col is None:
            raise DDCFError(
                f"{existing_order} has no 'model' column (it has {', '.join(prev.columns)}).",
                "give it columns model_id, model, or delete it to let create_training_data.py write a new one.",
            )
        if "model_id" in prev.columns:
            prev = prev.sort_values("model_id", kind="stable")
        listed = [str(m) for m in prev[col].tolist()]
    seen = set(listed)
    return listed + sorted(m for m in set(models) if m not in seen)


def split_questions(question_ids: list[str], val_ratio: float, seed: int) -> set[str]:
    """Seeded split by question id; independent of row order (ids are sorted first)."""
    if not 0.0 < val_ratio < 1.0:
        raise DDCFError(f"--val_ratio {val_ratio} is outside (0, 1).", "use e.g. 0.1 for 10% validation questions.")
    ids = np.array(sorted(set(question_ids)), dtype=object)
    if len(ids) < 2:
        raise DDCFError("The correctness data has fewer than 2 distinct questions; nothing to split.", "add questions.")
    rng = np.random.default_rng(seed)
    n_val = max(1, int(round(len(ids) * val_ratio)))
    n_val = min(n_val, len(ids) - 1)
    return set(ids[rng.permutation(len(ids))[:n_val]].tolist())


def build_matrix(
    layout: Layout,
    correctness_table: str | Path | None = None,
    models: list[str] | None = None,
    val_ratio: float = 0.1,
    seed: int = 42,
    pass_threshold: float = 0.5,
    from_pass_rates: bool = False,
) -> MatrixResult:
    if not 0.0 <= pass_threshold <= 1.0:
        raise DDCFError(f"--pass_threshold {pass_threshold} is outside [0, 1].", "use e.g. 0.5.")
    if correctness_table:
        raw = load_user_table(correctness_table)
        if models:
            unknown = sorted(set(models) - set(raw["model"]))
            if unknown:
                raise DDCFError(
                    f"--models names model(s) absent from {correctness_table}: {', '.join(unknown)}.",
                    "check the spelling against the table's 'model' column.",
                )
            raw = raw[raw["model"].isin(models)]
        source = str(correctness_table)
        _write_seed_questions(layout, raw)
    elif from_pass_rates:
        raw = load_pass_rate_tables(layout, pass_threshold)
        source = f"{layout.verdicts_dir} (pass rates >= {pass_threshold})"
    else:
        raw = load_verdict_tables(layout, models)
        source = str(layout.verdicts_dir)

    long = _collapse(raw, pass_threshold)
    if long.empty:
        raise DDCFError(f"No usable verdicts in {source}: every 'correct' cell is empty.", "check the input table.")
    order = order_models(long["model"].unique().tolist(), layout.model_order)
    model_id = {m: i for i, m in enumerate(order)}
    long["model_id"] = long["model"].map(model_id).astype(np.int64)

    val_q = split_questions(long["question_id"].tolist(), val_ratio, seed)
    long["split"] = np.where(long["question_id"].isin(val_q), "val", "train")
    long = long.sort_values(["model_id", "question_id"], kind="stable").reset_index(drop=True)
    cols = ["model_id", "model", "question_id", "correct", "dataset", "split", "pass_rate", "n"]
    long = long[cols]

    stats = long.groupby("model").agg(n_answered=("correct", "size"), accuracy=("correct", "mean"))
    mo = pd.DataFrame({"model_id": range(len(order)), "model": order})
    mo = mo.merge(stats, left_on="model", right_index=True, how="left")
    mo["n_answered"] = mo["n_answered"].fillna(0).astype(int)
    mo["accuracy"] = mo["accuracy"].round(4)

    meta = {
        "produced_by": "create_training_data.py",
        "source": source,
        "val_ratio": val_ratio,
        "seed": seed,
        "pass_threshold": pass_threshold,
        "models": order,
        "question_ids_sha256": hash_ids(sorted(long["question_id"].unique())),
    }
    write_parquet(long, layout.matrix, metadata=meta)
    base = ["model_id", "model", "question_id", "correct", "dataset"]
    write_parquet(long.loc[long["split"] == "train", base].reset_index(drop=True), layout.train_split, metadata=meta)
    write_parquet(long.loc[long["split"] == "val", base].reset_index(drop=True), layout.val_split, metadata=meta)
    write_csv(mo, layout.model_order)
    return MatrixResult(
        matrix=long,
        model_order=mo,
        n_train_questions=long.loc[long["split"] == "train", "question_id"].nunique(),
        n_val_questions=len(val_q),
        source=source,
    )


def _write_seed_questions(layout: Layout, raw: pd.DataFrame) -> None:
    cols = ["question_id", "question"] + [c for c in ("gold", "dataset") if c in raw.columns]
    q = raw[cols].dropna(subset=["question"]).drop_duplicates("question_id").sort_values("question_id")
    write_parquet(q.reset_index(drop=True), layout.seed_questions, metadata={"source": "create_training_data.py"})
