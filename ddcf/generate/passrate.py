"""Pass rates over n sampled completions per question, difficulty buckets, pass@k.

With ``--n K --temperature T>0`` a model answers each seed question K times.
Its pass rate on a question is the share of correct samples; the table
``Layout.passrates(model)`` (``verdicts/<model>.passrate.parquet``) has one row per question:
model, question_id, dataset, n, n_correct, pass_rate.

Buckets (Reasoning360's difficulty-filtering pipeline, ``model_filtering`` README)::

    impossible  0            very hard (0, 0.2)   hard   [0.2, 0.4)
    medium      [0.4, 0.6)   easy      [0.6, 0.8) very easy [0.8, 1)
    perfect     1

The README writes very easy as (0.8, 1), which leaves 0.8 in no bucket; its ``utils.py`` counts 0.8 as very
easy, and so does :func:`bucket` (every pass rate in exactly one bucket).

Run ``python -m ddcf.generate.passrate [--workdir W] [--models M ...]`` (or ``ddcf passrate``)
to print the bucket table of every model (or the named ones).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ddcf.artifacts.verdicts import read_verdicts
from ddcf.errors import DDCFError
from ddcf.io import read_parquet_metadata, read_table, write_parquet
from ddcf.layout import PASSRATE_SUFFIX, Layout
from ddcf.pipeline import Report

PASSRATE_COLUMNS = ["question_id", "n", "n_correct", "pass_rate"]
BUCKETS = ("impossible", "very hard", "hard", "medium", "easy", "very easy", "perfect")


def is_passrate_file(path: str | Path) -> bool:
    """Pass-rate tables live next to verdict tables; code that globs verdicts must skip these."""
    return str(path).endswith(PASSRATE_SUFFIX)


def bucket(pass_rate: float) -> str:
    """Difficulty bucket of one pass rate in [0, 1]."""
    try:
        p = float(pass_rate)
    except (TypeError, ValueError):
        raise DDCFError(f"A pass rate must be a number, got {pass_rate!r}.", "pass a value in [0, 1].") from None
    if math.isnan(p) or p < 0.0 or p > 1.0:
        raise DDCFError(f"A pass rate must lie in [0, 1], got {pass_rate!r}.", "pass a value in [0, 1].")
    if p == 0.0:
        return "impossible"
    if p == 1.0:
        return "perfect"
    if p < 0.2:
        return "very hard"
    if p < 0.4:
        return "hard"
    if p < 0.6:
        return "medium"
    if p < 0.8:
        return "easy"
    return "very easy"


def buckets(pass_rates: Sequence[float] | pd.Series) -> pd.Series:
    return pd.Series([bucket(p) for p in pass_rates], dtype="object")


def pass_rates(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per-question n, n_correct, pass_rate from a verdict table (one row per question and sample)."""
    missing = [c for c in ("question_id", "correct") if c not in verdicts.columns]
    if missing:
        raise DDCFError(f"A verdict table lacks the column(s) {', '.join(missing)}.", "pass a verdict table.")
    if verdicts["correct"].isna().any():
        raise DDCFError("A verdict table has missing 'correct' values.",
                        "grade again with infer.py --model_name M --regrade.")
    keys = ["question_id"] + (["dataset"] if "dataset" in verdicts.columns else [])
    g = verdicts.assign(correct=verdicts["correct"].astype(bool)).groupby(keys, sort=True, dropna=False)["correct"]
    out = g.agg(n="size", n_correct="sum").reset_index()
    out["n"] = out["n"].astype("int64")
    out["n_correct"] = out["n_correct"].astype("int64")
    out["pass_rate"] = (out["n_correct"] / out["n"]).astype("float64")
    if out["question_id"].duplicated().any():
        raise DDCFError("A question id appears with two different datasets in the verdict table.",
                        "give every seed question a unique id.")
    return out


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimate from n samples with c correct (Chen et al., 2021)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(table: pd.DataFrame, k: int) -> float:
    return float(np.mean([pass_at_k(int(n), int(c), k) for n, c in zip(table["n"], table["n_correct"])]))


def write_pass_rates(layout: Layout, model: str, table: pd.DataFrame, metadata: dict | None = None) -> Path:
    meta = {"model": model, "kind": "pass_rates", **(metadata or {})}
    # The model column carries the real name (the file stem is only its safe form).
    out = table.drop(columns=["model"], errors="ignore")
    out.insert(0, "model", model)
    return write_parquet(out, layout.passrates(model), metadata=meta)


def load_pass_rates(layout: Layout, model: str) -> pd.DataFrame:
    """A model's pass-rate table; derived from its verdict table when no pass-rate file exists (n = 1)."""
    p = layout.passrates(model)
    fix = f"rerun `python infer.py --model_name {model} --regrade` to rebuild it."
    if p.exists():
        df = read_table(p, f"pass-rate table of {model}", PASSRATE_COLUMNS, fix)
        _validate(df, p, fix)
        return df
    v = layout.verdicts(model)
    if not v.exists():
        raise DDCFError(
            f"No pass rates for '{model}': neither {p} nor its verdict table {v} exists.",
            f"generate them with `python infer.py --model_name {model}` (add --n K --temperature T for pass rates).",
        )
    return pass_rates(read_verdicts(layout, model, fix=fix))


def _validate(df: pd.DataFrame, path: Path, fix: str) -> None:
    bad = []
    if df[["n", "n_correct", "pass_rate"]].isna().any().any():
        bad.append("missing values")
    if (df["n"] < 1).any() or (df["n_correct"] < 0).any() or (df["n_correct"] > df["n"]).any():
        bad.append("counts out of range")
    if ((df["pass_rate"] < 0) | (df["pass_rate"] > 1)).any():
        bad.append("pass rates outside [0, 1]")
    if df["question_id"].duplicated().any():
        bad.append("duplicated question ids")
    if bad:
        raise DDCFError(f"The pass-rate table {path} is invalid ({', '.join(bad)}).", fix)


def bucket_table(table: pd.DataFrame) -> pd.DataFrame:
    """Count and share of questions per bucket, in bucket order (empty buckets included)."""
    counts = buckets(table["pass_rate"]).value_counts()
    total = max(int(len(table)), 1)
    rows = [{"bucket": b, "count": int(counts.get(b, 0)), "share": counts.get(b, 0) / total} for b in BUCKETS]
    return pd.DataFrame(rows)


def format_bucket_table(model: str, table: pd.DataFrame) -> str:
    bt = bucket_table(table)
    n = int(table["n"].max()) if len(table) else 0
    lines = [f"{model}: {len(table)} questions, up to {n} samples each, mean pass rate "
             f"{table['pass_rate'].mean():.3f}" if len(table) else f"{model}: no questions"]
    for r in bt.itertuples():
        lines.append(f"  {r.bucket:<11} {r.count:>7d}  {100 * r.share:5.1f}%")
    return "\n".join(lines)


def models_with_pass_rates(layout: Layout) -> list[str]:
    """Every model with a pass-rate table in the verdicts folder (its real name from the metadata)."""
    models = []
    for p in sorted(layout.verdicts_dir.glob(f"*{PASSRATE_SUFFIX}")):
        meta = read_parquet_metadata(p)
        models.append(meta.get("model") or p.name[: -len(PASSRATE_SUFFIX)])
    if not models:
        raise DDCFError(f"No pass-rate tables in {layout.verdicts_dir}.",
                        "generate some with `python infer.py --model_name M --n 8 --temperature 0.6`.")
    return models


def bucket_tables(layout: Layout, models: Sequence[str] | None = None) -> list[str]:
    """The bucket table text of each model (default: every pass-rate file in the verdicts folder)."""
    return [format_bucket_table(m, load_pass_rates(layout, m)) for m in (models or models_with_pass_rates(layout))]


def print_bucket_tables(layout: Layout, models: Sequence[str] | None = None, file=None) -> list[str]:
    """Print the bucket table of each model (default: every pass-rate file in the verdicts folder)."""
    texts = bucket_tables(layout, models)
    for text in texts:
        print(text, file=file)
    return texts


def run(layout: Layout, config) -> Report:
    """``ddcf passrate``: the bucket tables as the report's summary (reads only, so no resolved config)."""
    texts = bucket_tables(layout, config.models)
    return Report(stage="passrate", summary="\n".join(texts), details={"tables": texts})


def main(argv: Sequence[str] | None = None) -> int:
    from ddcf.generate.passrate_cli import command

    return command.main(argv)


if __name__ == "__main__":
    from ddcf.cli import run_main

    raise SystemExit(run_main(main))
