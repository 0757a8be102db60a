"""Stable picks across predictor retrainings in `ddcf report` (issue 23), on hand-made selections."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from ddcf.report.stability import group_stability, retraining_groups, stability_section


def sel(ids, weights, model="m", lamda=0.2, label=None, method="ddcf"):
    return SimpleNamespace(ids=list(ids), k=len(ids), model=model, method=method, lamda=lamda, max_score=1.0,
                           label=label or f"{model}-{weights}", folder=Path(str(weights)), report={},
                           meta={"difficulty_provenance": {"predictor_weights_sha256": weights}})


def test_groups_need_same_setting_and_different_predictors():
    a, b = sel("abcd", "w1"), sel("abce", "w2")
    same_pred = sel("abcf", "w1")
    other_lamda = sel("abcd", "w3", lamda=0.5)
    other_model = sel("abcd", "w4", model="n")
    assert retraining_groups([a, b, other_lamda, other_model]) == [[a, b]]
    assert retraining_groups([a, same_pred]) == []  # same predictor: not a retraining, no stability claim
    no_prov = sel("abcd", None)
    assert retraining_groups([a, no_prov]) == []


def test_stable_picks_hand_computed():
    # three retrainings: a, b in all three; c in two; d, e, f, g in one each
    g = group_stability([sel("abcd", "w1"), sel("abce", "w2"), sel("abfg", "w3")])
    assert g["stable_ids"] == ["a", "b"] and g["stable_picks"] == 2 and g["stable_frac"] == 0.5
    assert g["frequency"] == {"picked by 3 of 3": 2, "picked by 2 of 3": 1, "picked by 1 of 3": 4}
    # pairwise shared/k: 3/4, 2/4, 2/4
    assert g["overlap"]["shared_frac_mean"] == pytest.approx(7 / 12)
    assert g["overlap"]["shared_frac_min"] == 0.5


def test_section_absent_without_retrainings():
    assert stability_section([sel("abcd", "w1"), sel("abcd", "w2", model="n")]) is None
    text, tables, groups = stability_section([sel("abcd", "w1"), sel("abce", "w2")])
    assert "stable" in text and len(tables[0]) == 1 and groups[0]["stable_picks"] == 3
