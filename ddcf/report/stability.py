"""Stable picks: selections of the same target and settings that differ only by the predictor (issue 23).

Two selections are *retrainings* of each other when they have the same target model, method, k, lambda and
max_score but were scored by different predictor weights (report.json ``inputs.difficulty_provenance``), e.g.
``train_correctness_predictor.py --seed 1`` and ``--seed 2``.  For each such group the report shows how many
picks every retraining shares (the *stable* picks: decided by the target model, not the seed), how many
appear in only some, and the pairwise overlap; report.json lists the stable ids.
"""

from __future__ import annotations

import pandas as pd

from ddcf.select.stability import pairwise_overlaps, pick_frequency


def _setting(s) -> tuple:
    return (s.model, s.method, s.k, s.lamda, s.max_score)


def _predictor(s) -> str | None:
    prov = (s.meta.get("difficulty_provenance") or (s.report.get("inputs") or {}).get("difficulty_provenance")
            or {})
    return prov.get("predictor_weights_sha256") or prov.get("predictor_config_sha256")


def retraining_groups(selections) -> list[list]:
    """Groups (>= 2 selections) with one setting and pairwise different predictors, in the order given."""
    groups: dict[tuple, list] = {}
    for s in selections:
        groups.setdefault(_setting(s), []).append(s)
    out = []
    for members in groups.values():
        preds = [_predictor(s) for s in members]
        if len(members) >= 2 and all(preds) and len(set(preds)) == len(preds):
            out.append(members)
    return out


def group_stability(members) -> dict:
    """Stable picks of one group: ids picked by all R selections, frequency histogram, pairwise overlap."""
    r = len(members)
    freq = pick_frequency([s.ids for s in members])
    first = members[0]
    stable = [q for q in first.ids if freq[q] == r]  # in the first selection's rank order
    hist = {f"picked by {c} of {r}": sum(1 for v in freq.values() if v == c) for c in range(r, 0, -1)}
    return dict(model=first.model, method=first.method, k=first.k, lamda=first.lamda, selections=r,
                labels=[s.label for s in members], stable_picks=len(stable), stable_frac=len(stable) / first.k,
                frequency=hist, overlap=pairwise_overlaps([s.ids for s in members]), stable_ids=stable)


def stability_section(selections):
    """(text, tables, result) for the report's section, or None when no group of retrainings was given."""
    groups = [group_stability(g) for g in retraining_groups(selections)]
    if not groups:
        return None
    rows = []
    for g in groups:
        rows.append({"selections": " / ".join(g["labels"]), "k": g["k"],
                     "stable picks": f"{g['stable_picks']:,} ({g['stable_frac']:.0%})",
                     "mean shared/k": g["overlap"]["shared_frac_mean"],
                     "min shared/k": g["overlap"]["shared_frac_min"],
                     **{k: v for k, v in g["frequency"].items()}})
    text = ("Selections with the same target, method, k, λ and max_score whose predicted correctness came from "
            "different predictor weights (e.g. retrainings with other seeds). A pick made by every one of them is "
            "stable: it reflects the target model, not the predictor's training noise; picks made by only some "
            "are decided by that noise. report.json lists the stable question ids per group.")
    return text, [pd.DataFrame(rows)], groups
