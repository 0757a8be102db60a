"""Per-model accuracy tables from verdict tables (what infer.py prints and saves)."""

from __future__ import annotations

import pandas as pd

TOTAL = "ALL"


def summarize_verdicts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per model plus a final ``ALL`` row.

    Columns: model, n, accuracy (correct / all rows), then per dataset
    ``n_<ds>`` and ``acc_<ds>``, then no_answer, timeouts, errors.  Rows
    without an answer count as wrong, so accuracy is comparable across models.
    """
    datasets = sorted(verdicts["dataset"].astype(str).unique())
    v = verdicts.assign(
        _c=verdicts["correct"].astype(bool),
        _na=verdicts["status"] == "no_answer",
        _to=verdicts["status"] == "timeout",
        _er=verdicts["status"] == "error",
    )

    def block(g: pd.DataFrame, name: str) -> dict:
        row: dict = {"model": name, "n": int(len(g)), "accuracy": float(g["_c"].mean()) if len(g) else float("nan")}
        for ds in datasets:
            sub = g[g["dataset"].astype(str) == ds]
            row[f"n_{ds}"] = int(len(sub))
            row[f"acc_{ds}"] = float(sub["_c"].mean()) if len(sub) else float("nan")
        row["no_answer"] = int(g["_na"].sum())
        row["timeouts"] = int(g["_to"].sum())
        row["errors"] = int(g["_er"].sum())
        return row

    rows = [block(g, str(m)) for m, g in v.groupby("model", sort=True)]
    rows.append(block(v, TOTAL))
    return pd.DataFrame(rows)


def format_summary(summary: pd.DataFrame) -> str:
    """A fixed-width text table: accuracies as percentages, counts as integers."""
    cols = ["model", "n", "accuracy"] + [c for c in summary.columns if c.startswith("acc_")] + [
        "no_answer",
        "timeouts",
        "errors",
    ]
    shown = summary[cols].copy()
    for c in cols:
        if c == "accuracy" or c.startswith("acc_"):
            shown[c] = shown[c].map(lambda x: "-" if pd.isna(x) else f"{100 * x:5.1f}%")
    shown = shown.rename(columns={c: c.replace("acc_", "") for c in cols})
    width = min(44, max(len("model"), int(shown["model"].str.len().max())))
    shown["model"] = shown["model"].map(lambda s: s if len(s) <= width else s[: width - 1] + "…")
    return shown.to_string(index=False)
