"""The report's answer in words: which selection is hardest for its target, and at what diversity.

Computed from the comparison table only (never written by hand), one sentence per target model:
selections of the same target are compared with each other; a target with a single selection is compared with
the random subset of the same pool that ``ddcf select`` measured beside it (report.json ``random``), when that
was recorded.  Differences in mean pairwise cosine within :data:`SIMILAR_COSINE` count as "similar diversity",
differences in mean predicted correctness within :data:`SIMILAR_CORRECTNESS` as "about as hard".
"""

from __future__ import annotations

import math

import pandas as pd

SIMILAR_COSINE = 0.03
SIMILAR_CORRECTNESS = 0.01


def _f(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _span(values: list[float]) -> str:
    lo, hi = f"{min(values):.2f}", f"{max(values):.2f}"
    return lo if lo == hi else f"{lo}–{hi}"


def _diversity(mine: float | None, others: list[float], other_word: str) -> str:
    if mine is None or not others:
        return ""
    ref = sum(others) / len(others)
    nums = f"mean pairwise cosine {mine:.2f} vs {_span(others)}{other_word}"
    if abs(mine - ref) <= SIMILAR_COSINE:
        return f" at similar diversity ({nums})"
    return f" and more diverse ({nums})" if mine < ref else f" but less diverse ({nums})"


def _group_sentence(g: pd.DataFrame, name) -> str:
    pc = [_f(v) for v in g["mean_predicted_correctness"]]
    known = [(v, i) for i, v in enumerate(pc) if v is not None]
    if len(known) < 2:
        return ""
    known.sort()
    (best, i), (second, _) = known[0], known[1]
    row = g.iloc[i]
    others = [v for v, j in known if j != i]
    sims = [_f(v) for j, v in enumerate(g["mean_pairwise_similarity"]) if j != i and _f(v) is not None]
    other_word = "" if len(others) == 1 else " for the others"
    if second - best <= SIMILAR_CORRECTNESS:
        tied = [name(g.iloc[j]) for v, j in known if v - best <= SIMILAR_CORRECTNESS and j != i]
        head = f"{name(row)} and {', '.join(tied)}: about as hard as each other ({best:.2f} vs {second:.2f} " \
               "predicted correctness)"
    else:
        head = f"{name(row)}: hardest on average ({best:.2f} vs {_span(others)} predicted correctness{other_word})"
    text = head + _diversity(_f(row["mean_pairwise_similarity"]), sims, other_word) + "."
    cover = [_f(v) for v in g["coverage"]]
    if all(c is not None for c in cover):
        widest = max(range(len(cover)), key=lambda j: cover[j])
        if widest != i and cover[widest] - cover[i] > 0.005:
            text += f" {name(g.iloc[widest])} covers the corpus best ({cover[widest]:.2f} vs {cover[i]:.2f})."
    cost = _f(row.get("annotation_cost"))
    if cost and any(_f(v) == 0 for v in g["annotation_cost"]):
        text += f" It needed {row['annotation_cost_text']} model answers; others needed none."
    return text


def _single_sentence(row, reference: dict | None, name) -> str:
    pc, sim = _f(row["mean_predicted_correctness"]), _f(row["mean_pairwise_similarity"])
    ref = reference or {}
    r_pc, r_sim = _f(ref.get("mean_predicted_correctness")), _f(ref.get("mean_pairwise_similarity"))
    if pc is None:
        return f"{name(row)}: no predicted correctness recorded; see the table for diversity and coverage."
    if r_pc is None:
        return f"{name(row)}: mean predicted correctness {pc:.2f}, mean pairwise cosine " + (
            f"{sim:.2f}." if sim is not None else "n/a.")
    word = "harder" if pc < r_pc - SIMILAR_CORRECTNESS else ("easier" if pc > r_pc + SIMILAR_CORRECTNESS
                                                            else "about as hard")
    than = "as" if word == "about as hard" else "than"
    text = (f"{name(row)}: {word} {than} a random subset of the same pool ({pc:.2f} vs {r_pc:.2f} predicted "
            "correctness)")
    return text + _diversity(sim, [r_sim] if r_sim is not None else [], " for random") + "."


def verdict_lines(table: pd.DataFrame, references: dict[str, dict] | None = None) -> list[str]:
    """One sentence per target model in ``table`` (the comparison table: selection, model, method_label,
    mean_predicted_correctness, mean_pairwise_similarity, coverage, annotation_cost[_text]).
    ``references``: selection label -> the random-subset statistics its report.json recorded."""
    references = references or {}
    one_model = table["model"].nunique() == 1

    def name(row) -> str:  # the model is said once per sentence when every selection has the same target
        return str(row["method_label"]) if one_model and table["method_label"].is_unique else str(row["selection"])

    lines = []
    for model, g in table.groupby("model", sort=False):
        g = g.reset_index(drop=True)
        line = (_group_sentence(g, name) if len(g) > 1
                else _single_sentence(g.iloc[0], references.get(g.iloc[0]["selection"]), name))
        if line:
            lines.append(line if one_model else f"For {model}: {line}")
    return lines
