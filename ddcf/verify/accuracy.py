"""Per-model accuracy tables from verdict tables (what infer.py prints and saves)."""

from __future__ import annotations

import pandas as pd

TOTAL = "ALL"


def summarize_verdicts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per model plus a final ``ALL`` row.

    Columns: model, n, accuracy (correct / all rows), then per dataset
    ``n_<ds>`` and ``acc_<ds>``, then no_answer (no answer span found), unparsed (a span found that the
    answer type could not parse), fallback (no span; the type's whole-text fallback was compared), timeouts,
    errors.  Rows without an answer count as wrong, so accuracy is comparable across models; the counts show
    a format problem (a model answering where the extraction front does not look) instead of a low score.
    """
    datasets = sorted(verdicts["dataset"].astype(str).unique())
    v = verdicts.assign(
        _c=verdicts["correct"].astype(bool),
        _na=verdicts["status"] == "no_answer",
        _un=verdicts["status"] == "unparsed",
        _fb=verdicts["status"] == "fallback",
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
        row["unparsed"] = int(g["_un"].sum())
        row["fallback"] = int(g["_fb"].sum())
        row["timeouts"] = int(g["_to"].sum())
        row["errors"] = int(g["_er"].sum())
        return row

    rows = [block(g, str(m)) for m, g in v.groupby("model", sort=True)]
    rows.append(block(v, TOTAL))
    return pd.DataFrame(rows)


def format_summary(summary: pd.DataFrame) -> str:
    """A fixed-width text table: accuracies as percentages, counts as integers."""
    counts = [c for c in ("no_answer", "unparsed", "fallback", "timeouts", "errors") if c in summary.columns]
    cols = ["model", "n", "accuracy"] + [c for c in summary.columns if c.startswith("acc_")] + counts
    shown = summary[cols].copy()
    for c in cols:
        if c == "accuracy" or c.startswith("acc_"):
            shown[c] = shown[c].map(lambda x: "-" if pd.isna(x) else f"{100 * x:5.1f}%")
    shown = shown.rename(columns={c: c.replace("acc_", "") for c in cols})
    width = min(44, max(len("model"), int(shown["model"].str.len().max())))
    shown["model"] = shown["model"].map(lambda s: s if len(s) <= width else s[: width - 1] + "…")
    return shown.to_string(index=False)
