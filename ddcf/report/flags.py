"""Warnings a reader must see before trusting a comparison: near-duplicate questions inside a selection, and
selections scored by a predictor that a trivial baseline beats.

The baseline verdict is the one stage 4 stored in the predictor's metrics.json (``baseline_check``, recomputed
for older files by :func:`ddcf.predictor.verdict.check_from_metrics`), read for the predictor that scored the
selection: its weights' SHA-256 recorded in the selection (``difficulty_provenance``) must match the weights in
the work directory, otherwise the flag says it could not be checked.  A selection without that provenance used
no predictor (e.g. random, or a method on measured answers) and gets no predictor flag.
"""

from __future__ import annotations

import pandas as pd

from ddcf.errors import DDCFError
from ddcf.io import file_sha256, read_side_file
from ddcf.layout import Layout
from ddcf.predictor.verdict import check_from_metrics, warning


def duplicate_flags(table: pd.DataFrame, twin_cosine: float) -> list[str]:
    out = []
    for _, r in table.iterrows():
        pairs = int(r.get("near_duplicate_pairs") or 0)
        if pairs:
            ids = ", ".join(r["near_duplicate_ids"][:4])
            out.append(f"{r['selection']}: {pairs:,} near-duplicate pair(s) (cosine ≥ {twin_cosine:g}) among "
                       f"{int(r['near_duplicate_questions']):,} of its {int(r['k']):,} questions (e.g. {ids}); "
                       "each such pair spends two picks on one question.")
    return out


def _provenance(sel) -> dict | None:
    prov = sel.meta.get("difficulty_provenance") or (sel.report.get("inputs") or {}).get("difficulty_provenance")
    return prov if isinstance(prov, dict) and prov else None


def predictor_flags(selections, layout: Layout) -> list[str]:
    """One line per selection made from predicted correctness whose predictor a trivial baseline beats (or whose
    predictor cannot be checked because the work directory now holds other weights)."""
    scored = [(s, _provenance(s)) for s in selections]
    scored = [(s, p) for s, p in scored if p is not None]
    if not scored or not layout.predictor_metrics.is_file():
        return []
    try:
        check = check_from_metrics(read_side_file(layout.predictor_metrics, "predictor metrics",
                                                  "retrain the predictor (train_correctness_predictor.py)."))
    except DDCFError as exc:
        return [f"the predictor's metrics could not be read, so no selection's predictor was checked against "
                f"the baselines: {exc.what}"]
    text = warning(check)
    current = file_sha256(layout.predictor_weights) if layout.predictor_weights.is_file() else None
    out = []
    for s, prov in scored:
        want = prov.get("predictor_weights_sha256")
        if want and current and want != current:
            out.append(f"{s.label}: scored by predictor weights ({want[:12]}) other than those in "
                       f"{layout.predictor_dir} ({current[:12]}); whether a baseline beats them is not known here.")
        elif text:
            out.append(f"{s.label}: made from a predictor that a trivial baseline beats — {text}")
    return out
