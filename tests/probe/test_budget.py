"""``ddcf probe budget`` (ddcf.probe.budget): the seed-budget planner and its stage action."""

import json

import numpy as np
import pandas as pd
import pytest
from predictor_synth import build, unit_rows

from ddcf.errors import DDCFError
from ddcf.io import save_embeddings, write_json
from ddcf.layout import Layout
from ddcf.probe.budget import PAPER_SECONDS_PER_PAIR, kcenter_order, plan_pairs, run_budget, spread_pick
from ddcf.probe.config import ProbeConfig


def toy(n_models=5, n_q=60, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    return [f"m{i}" for i in range(n_models)], [f"q{i:03d}" for i in range(n_q)], unit_rows(
        rng.standard_normal((n_q, dim)))


def pairs_of(plan):
    return set(zip(plan.model.tolist(), plan.question.tolist()))


@pytest.mark.parametrize("budget", [0.1, 0.25, 0.37, 0.5, 1.0])
@pytest.mark.parametrize("strategy", ["planned", "random"])
def test_exact_pair_count_no_duplicates(budget, strategy):
    models, qids, x = toy()
    plan = plan_pairs(models, qids, x, budget, 0.5, strategy, seed=3)
    assert len(plan) == int(np.floor(budget * 5 * 60 + 0.5))
    assert len(pairs_of(plan)) == len(plan)


def test_every_model_gets_the_core_and_extras_are_even():
    models, qids, x = toy()
    plan = plan_pairs(models, qids, x, 0.3, 0.5, "planned", seed=1)  # 90 pairs: core 9 questions x 5 = 45
    f = plan.frame()
    core = f[f.part == "core"]
    assert len(plan.core_questions) == 9
    for m in models:
        assert set(core[core.model == m].question_id) == set(plan.core_questions)
    per_model = f.groupby("model").size()
    assert per_model.max() - per_model.min() <= 1 and per_model.sum() == 90
    for m, qs in plan.lists().items():
        assert len(qs) == len(set(qs))  # no question twice for a model


def test_core_is_diverse_kcenter():
    # two tight clusters of near-duplicates: a 2-question core takes one of each, never two twins
    rng = np.random.default_rng(0)
    a = unit_rows(np.array([[1.0, 0, 0]]) + 0.01 * rng.standard_normal((20, 3)))
    b = unit_rows(np.array([[0, 1.0, 0]]) + 0.01 * rng.standard_normal((20, 3)))
    x = np.vstack([a, b])
    order, nearest = kcenter_order(x, 2, np.random.default_rng(5))
    assert {int(order[0]) // 20, int(order[1]) // 20} == {0, 1}
    assert (nearest[:20] == nearest[0]).all() and (nearest[20:] == nearest[20]).all()


def test_deterministic_and_strategies_differ():
    models, qids, x = toy()
    a = plan_pairs(models, qids, x, 0.25, 0.5, "planned", seed=7)
    b = plan_pairs(models, qids, x, 0.25, 0.5, "planned", seed=7)
    r = plan_pairs(models, qids, x, 0.25, 0.5, "random", seed=7)
    assert pairs_of(a) == pairs_of(b) and a.lists() == b.lists()
    assert pairs_of(a) != pairs_of(r)
    assert pairs_of(plan_pairs(models, qids, x, 0.25, 0.5, "random", seed=8)) != pairs_of(r)


def test_extras_follow_uncertainty_spread_over_cells():
    models, qids, x = toy(n_models=2, n_q=60)
    # model m0: questions 0..9 are the only uncertain ones; everything else is sure (p = 0.99)
    p = np.full(60, 0.99)
    p[:10] = 0.5
    plan = plan_pairs(models, qids, x, 0.2, 0.0, "planned", seed=0, p_correct={"m0": p})  # 24 pairs, no core
    lists = plan.lists()
    assert set(qids[:10]) <= set(lists["m0"]) and plan.uncertainty_models == ["m0"]
    assert len(lists["m0"]) == 12 and len(lists["m1"]) == 12
    # spread_pick: a cell's r-th pick counts score * 0.5**r: .9, .8/2=.4, .2 (other cell), .7/4=.175, ...
    cand = np.arange(6)
    pick = spread_pick(cand, np.array([0, 0, 0, 1, 1, 2]), np.array([.9, .8, .7, .1, .2, .05]), 4)
    assert pick.tolist() == [0, 1, 4, 2]
    # equal scores: one per cell first (diversity)
    assert spread_pick(cand, np.array([0, 0, 0, 1, 1, 2]), np.ones(6), 3).tolist() == [0, 3, 5]


def test_available_mask_is_respected():
    models, qids, x = toy()
    rng = np.random.default_rng(2)
    avail = rng.random((5, 60)) < 0.6
    for strategy in ("planned", "random"):
        plan = plan_pairs(models, qids, x, 0.25, 0.5, strategy, seed=0, available=avail)
        assert avail[plan.model, plan.question].all()
        assert len(plan) == int(np.floor(0.25 * avail.sum() + 0.5))


@pytest.mark.parametrize("budget", [0.0, -0.1, 1.01, float("nan"), float("inf")])
def test_bad_budget(budget):
    models, qids, x = toy()
    with pytest.raises(DDCFError, match="--budget"):
        plan_pairs(models, qids, x, budget)


def test_bad_strategy_core_fraction_and_unknown_prediction_model():
    models, qids, x = toy()
    with pytest.raises(DDCFError, match="strategy"):
        plan_pairs(models, qids, x, 0.5, strategy="greedy")
    with pytest.raises(DDCFError, match="core_fraction"):
        plan_pairs(models, qids, x, 0.5, core_fraction=1.5)
    with pytest.raises(DDCFError, match="ghost"):
        plan_pairs(models, qids, x, 0.5, p_correct={"ghost": np.full(60, 0.5)})


# --------------------------------------------------------------------------- the stage action
def cfg(tmp_path, **kw):
    c = ProbeConfig(action="budget", workdir=str(tmp_path), no_progress=True, **kw)
    c.check()
    return c


@pytest.fixture()
def work(tmp_path):
    lay = Layout(tmp_path)
    syn = build(lay, n_models=4, n_questions=80)  # its matrix.parquet has a split column (train/val)
    return lay, syn


def read_list(path):
    from ddcf.generate.questions import read_question_list

    return read_question_list(str(path))


def test_run_budget_writes_lists_no_heldout_question(work, tmp_path):
    lay, syn = work
    rep = run_budget(lay, cfg(tmp_path, budget=0.25, strategy="planned"))
    train_q = sorted(set(syn.train.question_id))
    d = rep.details
    assert d["n_questions"] == len(train_q) and d["n_heldout_questions_excluded"] == len(set(syn.val.question_id))
    assert d["n_pairs"] == int(np.floor(0.25 * 4 * len(train_q) + 0.5))
    val_q = set(syn.val.question_id)
    total = 0
    for m in syn.models:
        path = lay.probe_budget_list(m)
        assert path.read_text().startswith("# ddcf probe budget")
        ids = read_list(path)
        total += len(ids)
        assert not set(ids) & val_q and set(ids) <= set(train_q)
    assert total == d["n_pairs"]
    plan = pd.read_parquet(lay.probe_budget_plan)
    assert len(plan) == total and set(plan.part) == {"core", "extra"}
    # no predictor: the paper's rate, and the summary says which was used
    assert d["gpu_hours"] == pytest.approx(total * PAPER_SECONDS_PER_PAIR / 3600)
    assert "paper" in rep.summary and any("no trained predictor" in w for w in rep.warnings)
    assert json.loads(lay.probe_budget_plan.with_suffix(".json").read_text())["n_pairs"] == total


def test_run_budget_gpu_hours_uses_measured_speed(work, tmp_path):
    lay, syn = work
    n_train = len(set(syn.train.question_id))
    for m in syn.models:  # 36 s per question measured for every model
        write_json({"model": m, "n_questions": 100, "throughput": {"generation_wall_s": 3600.0,
                                                                 "generated_tokens_per_s": 50.0}},
                   lay.generation_summary(m))
    full = 4 * n_train * 36 / 3600
    rep = run_budget(lay, cfg(tmp_path, gpu_hours=full / 2))
    assert rep.details["budget"] == pytest.approx(0.5)
    assert rep.details["gpu_hours"] == pytest.approx(full / 2, abs=36 / 3600)
    assert "measured (50 generated tokens/s)" in rep.summary


def test_run_budget_with_predictor_and_unknown_model(work, tmp_path):
    from ddcf.predictor.config import PredictorConfig
    from ddcf.predictor.stage import run as train

    lay, syn = work
    train(lay, PredictorConfig(workdir=str(tmp_path), ensemble=1, max_epochs=20, baselines=[], no_progress=True,
                               no_plot=True))
    rep = run_budget(lay, cfg(tmp_path, budget=0.5, models=syn.models[:2], seed=1, strategy="planned"))
    assert rep.details["uncertainty_models"] == syn.models[:2] and not rep.warnings
    first = read_list(lay.probe_budget_list(syn.models[0]))
    again = run_budget(lay, cfg(tmp_path, budget=0.5, models=syn.models[:2], seed=1, strategy="planned"))
    assert again.details["pairs_per_model"] == rep.details["pairs_per_model"]
    assert read_list(lay.probe_budget_list(syn.models[0])) == first
    with pytest.raises(DDCFError, match="does not list: 'org/model-l' \\(did you mean"):
        run_budget(lay, cfg(tmp_path, budget=0.5, models=["org/model-l"]))


def test_run_budget_needs_models(tmp_path):
    lay = Layout(tmp_path)
    build(lay, n_models=2, n_questions=20)
    lay.model_order.unlink()
    lay.matrix.unlink()  # nothing run yet: no split, every seed question is planned
    with pytest.raises(DDCFError, match="--models"):
        run_budget(lay, cfg(tmp_path, budget=0.5))
    rep = run_budget(lay, cfg(tmp_path, budget=0.5, models=["new/a", "new/b"]))
    assert rep.details["n_pairs"] == 20


# --------------------------------------------------------------------------- a budgeted (sparse) matrix
def test_sparse_budget_matrix_split_and_metrics(tmp_path, layout):
    """A matrix built from a budget plan (most pairs never run) keeps missing pairs missing, splits every
    question wholly to one side, and the per-model metrics use only the answered pairs."""
    from ddcf.matrix.build import build_matrix
    from ddcf.predictor.data import load_training_data
    from ddcf.predictor.metrics import evaluate, roc_auc

    models, qids, x = toy(n_models=4, n_q=50)
    plan = plan_pairs(models, qids, x, 0.25, 0.5, "planned", seed=0)
    rng = np.random.default_rng(0)
    f = plan.frame()
    f["correct"] = rng.integers(0, 2, len(f))
    f["question"] = "What is " + f["question_id"] + "?"
    f["dataset"] = "gsm8k"
    path = tmp_path / "budget.csv"
    f.drop(columns="part").to_csv(path, index=False)
    build_matrix(layout, correctness_table=path, val_ratio=0.2, test_ratio=0.2, seed=1)
    m = pd.read_parquet(layout.matrix)
    assert len(m) == len(plan) and not m.duplicated(["model", "question_id"]).any()  # nothing filled in
    assert (m.groupby("question_id")["split"].nunique() == 1).all()
    save_embeddings(x, qids, layout.seed_embeddings, {"embedding_model": "toy", "normalized": True})
    data = load_training_data(layout)
    test = data.test
    assert len(test) == int((m.split == "test").sum())
    p = rng.random(len(test))
    got = evaluate(test.correct, p, test.model_id)
    per = [roc_auc(test.correct[test.model_id == i], p[test.model_id == i]) for i in np.unique(test.model_id)
           if len(set(test.correct[test.model_id == i])) == 2]
    assert got["mean_model_auc"] == pytest.approx(np.mean(per)) and got["n_models_auc"] == len(per)
