"""The table comparing selections on one corpus: one row per selection, every number computed the same way.

Similarities are cosines of the corpus embeddings in float32 (descriptive statistics, not decisions), exact
over all pairs / all corpus rows, in chunks so k = 10k selections and N = 189k corpora stay in memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ddcf.report.projection import unit_rows
from ddcf.select.report import COLUMN

CHUNK = 4096

#: methods that need no model answer of the corpus (with predicted inputs); the others are counted below
NO_CORPUS_ANSWERS = ("ddcf", "random", "longest", "disf", "crowd", "ds2")
ONE_SCORING_PASS = ("perplexity", "least_confidence")


def pairwise_stats(v: np.ndarray) -> tuple[float, float]:
    """Mean and max cosine over all distinct pairs of the unit rows ``v`` (NaN for fewer than 2 rows)."""
    k = len(v)
    if k < 2:
        return float("nan"), float("nan")
    total, best = 0.0, -np.inf
    for start in range(0, k, CHUNK):
        g = v[start:start + CHUNK] @ v.T
        i = np.arange(start, min(start + CHUNK, k))
        upper = np.arange(k)[None, :] > i[:, None]  # each pair once, no diagonal
        vals = g[upper]
        if vals.size:
            total += float(vals.sum(dtype=np.float64))
            best = max(best, float(vals.max()))
    return total / (k * (k - 1) / 2), best


def coverage(x, sel_vs: list[np.ndarray]) -> list[float]:
    """For each selection (unit rows), the mean over every corpus row of its best cosine to the selection
    (1 = every question has a twin in it); one pass over the corpus for all selections."""
    n = x.shape[0]
    bounds = np.cumsum([0] + [len(v) for v in sel_vs])
    both = np.concatenate(sel_vs).T
    totals = np.zeros(len(sel_vs))
    for start in range(0, n, CHUNK):
        sims = unit_rows(x, start, start + CHUNK) @ both
        for i in range(len(sel_vs)):
            totals[i] += float(sims[:, bounds[i]:bounds[i + 1]].max(axis=1).sum(dtype=np.float64))
    return [t / n for t in totals]


def entropy_bits(values) -> float:
    p = pd.Series(values).value_counts(normalize=True).to_numpy(np.float64)
    return float(-(p * np.log2(p)).sum()) if len(p) else float("nan")


def words(texts) -> float:
    return float(pd.Series(texts).astype(str).str.split().str.len().mean())


def annotation_cost(sel, layout, corpus_n: int) -> tuple[int | None, str]:
    """Model answers the method needed (number, text): report.json's own ``annotation_cost`` when it has one."""
    own = sel.report.get("annotation_cost")
    if isinstance(own, (int, float)) and not isinstance(own, bool):
        return int(own), f"{int(own):,} (recorded)"
    m = sel.method
    source = sel.report.get("passrate_source") or sel.options.get("passrate_source") or "predicted"
    if m in NO_CORPUS_ANSWERS or (m == "passrate_band" and source == "predicted"):
        return 0, "0"
    if m in ONE_SCORING_PASS:
        n = int((sel.report.get("pool") or {}).get("n") or corpus_n)
        return n, f"{n:,} corpus answers (one scoring pass)"
    if m == "binary_hard":
        path = layout.verdicts(sel.model)
        if path.is_file():
            n = len(pd.read_parquet(path, columns=["question_id"]))
            return n, f"{n:,} seed answers"
        return None, "seed-set answers"
    return None, "unknown"


def comparison_table(selections, x, corpus: pd.DataFrame, layout, subject_column: str) -> pd.DataFrame:
    """One row per selection; ``corpus`` is aligned with the embedding rows (question, response, subject)."""
    rows = []
    vs = [unit_rows(np.asarray(x[np.sort(s.rows)])) for s in selections]
    for s, v, cover in zip(selections, vs, coverage(x, vs)):
        mean_sim, max_sim = pairwise_stats(v)
        picked = corpus.iloc[s.rows]
        cost_n, cost_text = annotation_cost(s, layout, len(corpus))
        pc = pd.to_numeric(s.table[COLUMN], errors="coerce") if COLUMN in s.table.columns else pd.Series(dtype=float)
        rows.append({
            "selection": s.label, "model": s.model, "method": s.method, "k": s.k,
            "lamda": s.lamda if s.method == "ddcf" else None,
            "mean_predicted_correctness": float(pc.mean()) if pc.notna().any() else float("nan"),
            "mean_pairwise_similarity": mean_sim, "max_pairwise_similarity": max_sim,
            "coverage": cover,
            f"{subject_column}_entropy_bits": entropy_bits(picked[subject_column]),
            "mean_question_words": words(picked["question"]), "mean_response_words": words(picked["response"]),
            "annotation_cost": cost_n, "annotation_cost_text": cost_text,
        })
    return pd.DataFrame(rows)
