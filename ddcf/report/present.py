"""The comparison table as a reader sees it: one row per measure with a readable name and the direction that is
better (↓ lower, ↑ higher), one column per selection, the best value of each row marked.

Rows are measures and columns selections (not the other way round) so that the page stays 1,400 px wide with
long selection labels: the labels wrap in the column heads, the measure names stay on one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ddcf.hub.cards import _fmt as fmt_value

LOWER, HIGHER = "lower", "higher"
ARROW = {LOWER: "↓", HIGHER: "↑", None: ""}


@dataclass(frozen=True)
class Measure:
    key: str  # column of the comparison table
    name: str  # what the reader sees
    better: str | None  # LOWER, HIGHER, or None (descriptive: no value is better)
    why: str = ""  # what "better" means for this row, e.g. "harder"
    digits: int = 3


def measures(subject_column: str, twin_cosine: float) -> list[Measure]:
    return [
        Measure("mean_predicted_correctness", "Mean predicted correctness", LOWER, "harder for the target"),
        Measure("mean_pairwise_similarity", "Mean pairwise cosine", LOWER, "more diverse"),
        Measure("max_pairwise_similarity", "Max pairwise cosine", LOWER, "no near-twins"),
        Measure("near_duplicate_pairs", f"Near-duplicate pairs (cosine ≥ {twin_cosine:g})", LOWER, "fewer"),
        Measure("coverage", "Coverage of the corpus (mean best cosine)", HIGHER, "covers more"),
        Measure(f"{subject_column}_entropy_bits", f"{subject_column.capitalize()} entropy (bits)", HIGHER,
                "more balanced"),
        Measure("mean_question_words", "Question length (words)", None, digits=1),
        Measure("mean_response_words", "Response length (words)", None, digits=1),
        Measure("annotation_cost", "Annotation cost (model answers)", LOWER, "cheaper"),
    ]


@dataclass
class Marked:
    """A table to print plus the (row, column) positions of the cells to mark as best."""

    frame: pd.DataFrame
    best: set[tuple[int, int]] = field(default_factory=set)
    legend: str = ""


def _num(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def best_columns(values: list, better: str | None) -> list[int]:
    """Positions of the best value (ties all marked); none when no direction, fewer than two numbers, or all
    values equal (nothing to choose between)."""
    nums = [_num(v) for v in values]
    known = [v for v in nums if v is not None]
    if better is None or len(known) < 2 or max(known) - min(known) <= 1e-12:
        return []
    target = min(known) if better == LOWER else max(known)
    return [i for i, v in enumerate(nums) if v is not None and abs(v - target) <= 1e-12]


def comparison_view(table: pd.DataFrame, subject_column: str, twin_cosine: float) -> Marked:
    """The comparison table transposed for reading: measures as rows (arrowed names), selections as columns."""
    labels = table["selection"].tolist()
    rows, best = [], set()
    head = [("Target model", table["model"].tolist()), ("Method", table["method_label"].tolist()),
            ("k (questions)", [f"{int(k):,}" for k in table["k"]])]
    for name, values in head:
        rows.append([name, *values])
    for m in measures(subject_column, twin_cosine):
        if m.key not in table.columns:
            continue
        values = table[m.key].tolist()
        shown = table["annotation_cost_text"].tolist() if m.key == "annotation_cost" else [
            fmt_value(v, m.digits) if _num(v) is not None else "n/a" for v in values]
        arrow = f" {ARROW[m.better]} ({m.better} = {m.why})" if m.better else ""
        r = len(rows)
        rows.append([m.name + arrow, *shown])
        best |= {(r, 1 + c) for c in best_columns(values, m.better)}
    frame = pd.DataFrame(rows, columns=["Measure", *labels])
    legend = ("↓: lower is better, ↑: higher is better (what better means is in brackets); ★ marks the best "
              "value of each row among the selections (none where all are equal). Predicted correctness is that "
              "of each selection's own target model.")
    return Marked(frame, best, legend)
