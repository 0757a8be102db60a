"""The table comparing selections on one corpus: one row per selection, every number computed the same way.

Similarities are cosines of the corpus embeddings in float32 (descriptive statistics, not decisions), exact
over all pairs / all corpus rows, in chunks so k = 10k selections and N = 189k corpora stay in memory.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from ddcf.artifacts.embeddings import unit_rows
from ddcf.artifacts.selection import COLUMN
from ddcf.artifacts.verdicts import read_verdicts
from ddcf.report.selections import registry_field

CHUNK = 4096

def pairwise_stats(v: np.ndarray) -> tuple[float, float]:
    """Mean and max cosine over all distinct pairs of the unit rows ``v`` (NaN for fewer than 2 rows)."""
    stats = pair_stats(v)
    return stats["mean"], stats["max"]


def pair_stats(v: np.ndarray, twin_cosine: float = 1.0) -> dict:
    """Over all distinct pairs of the unit rows ``v``: mean and max cosine, and the near-duplicates: pairs with a
    cosine >= ``twin_cosine`` and the rows in at least one such pair (``twin_rows``, positions in ``v``)."""
    k = len(v)
    if k < 2:
        return {"mean": float("nan"), "max": float("nan"), "twin_pairs": 0, "twin_rows": np.zeros(0, np.int64)}
    total, best, pairs, twins = 0.0, -np.inf, 0, []
    for start in range(0, k, CHUNK):
        g = v[start:start + CHUNK] @ v.T
        i = np.arange(start, min(start + CHUNK, k))
        upper = np.arange(k)[None, :] > i[:, None]  # each pair once, no diagonal
        vals = g[upper]
        if vals.size:
            total += float(vals.sum(dtype=np.float64))
            best = max(best, float(vals.max()))
        hit = np.nonzero(upper & (g >= np.float32(twin_cosine)))
        if hit[0].size:
            pairs += int(hit[0].size)
            twins += [i[hit[0]], hit[1]]
    rows = np.unique(np.concatenate(twins)) if twins else np.zeros(0, np.int64)
    return {"mean": total / (k * (k - 1) / 2), "max": best, "twin_pairs": pairs, "twin_rows": rows}


def coverage(x, sel_vs: list[np.ndarray]) -> list[float]:
    """For each selection (unit rows), the mean over every corpus row of its best cosine to the selection
    (1 = every question has a twin in it); one pass over the corpus for all selections."""
    n = x.shape[0]
    bounds = np.cumsum([0] + [len(v) for v in sel_vs])
    both = np.concatenate(sel_vs).T
    totals = np.zeros(len(sel_vs))
    for start in range(0, n, CHUNK):
        sims = unit_rows(x[start:start + CHUNK], dtype=np.float32) @ both
        for i in range(len(sel_vs)):
            totals[i] += float(sims[:, bounds[i]:bounds[i + 1]].max(axis=1).sum(dtype=np.float64))
    return [t / n for t in totals]


def entropy_bits(values) -> float:
    p = pd.Series(values).value_counts(normalize=True).to_numpy(np.float64)
    return float(-(p * np.log2(p)).sum()) if len(p) else float("nan")


def words(texts) -> float:
    return float(pd.Series(texts).astype(str).str.split().str.len().mean())


def annotation_cost(sel, layout, corpus_n: int) -> tuple[int | None, str]:
    """Model answers the method needed (number, text): what the selection's report.json records (every selector
    writes ``annotation_cost`` and ``annotation_cost_text``), else derived from the method's registry entry
    (``annotation_cost`` kind) for folders written before; the report itself names no method."""
    own = sel.report.get("annotation_cost")
    own_text = sel.report.get("annotation_cost_text")
    if isinstance(own, (int, float)) and not isinstance(own, bool):
        return int(own), own_text if isinstance(own_text, str) and own_text else f"{int(own):,} (recorded)"
    cost_kind = registry_field(sel.method, "cost_kind", None)  # resolves a kind that depends on the options
    kind = cost_kind(SimpleNamespace(**{**sel.options, **sel.report})) if callable(cost_kind) else None
    if kind == "none":
        return 0, "0"
    if kind == "corpus_pass":
        n = int((sel.report.get("pool") or {}).get("n") or corpus_n)
        return n, f"{n:,} corpus answers (one scoring pass)"
    if kind == "seed_answers":
        if layout.verdicts(sel.model).is_file():
            n = len(read_verdicts(layout, sel.model, columns=("question_id",)))
            return n, f"{n:,} seed answers"
        return None, "seed-set answers"
    if isinstance(own_text, str) and own_text:
        return None, own_text
    return None, "unknown"


def comparison_table(selections, x, corpus: pd.DataFrame, layout, subject_column: str,
                     twin_cosine: float = 0.98) -> pd.DataFrame:
    """One row per selection; ``corpus`` is aligned with the embedding rows (question, response, subject).
    ``twin_cosine``: pairs at or above this cosine count as near-duplicates."""
    rows = []
    vs = [unit_rows(x, np.sort(s.rows), dtype=np.float32) for s in selections]
    for s, v, cover in zip(selections, vs, coverage(x, vs)):
        ordered = np.sort(s.rows)
        pairs = pair_stats(v, twin_cosine)
        picked = corpus.iloc[s.rows]
        cost_n, cost_text = annotation_cost(s, layout, len(corpus))
        pc = pd.to_numeric(s.table[COLUMN], errors="coerce") if COLUMN in s.table.columns else pd.Series(dtype=float)
        rows.append({
            "selection": s.label, "model": s.model, "method": s.method, "k": s.k,
            "lamda": s.lamda if registry_field(s.method, "lamda_sweep", False) else None,
            "mean_predicted_correctness": float(pc.mean()) if pc.notna().any() else float("nan"),
            "mean_pairwise_similarity": pairs["mean"], "max_pairwise_similarity": pairs["max"],
            "near_duplicate_pairs": pairs["twin_pairs"], "near_duplicate_questions": int(len(pairs["twin_rows"])),
            "near_duplicate_ids": corpus["question_id"].iloc[ordered[pairs["twin_rows"]]].astype(str).tolist()[:20],
            "coverage": cover,
            f"{subject_column}_entropy_bits": entropy_bits(picked[subject_column]),
            "mean_question_words": words(picked["question"]), "mean_response_words": words(picked["response"]),
            "annotation_cost": cost_n, "annotation_cost_text": cost_text,
        })
    return pd.DataFrame(rows)
