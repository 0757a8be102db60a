"""Issue 25: a predictor that a trivial baseline beats must say so (stage summary, metrics.json, ddcf summary),
and the baselines must show progress and their times."""

import json
import math

import numpy as np
import pandas as pd
import predictor_synth as S
import pytest

from ddcf.io import write_parquet
from ddcf.layout import Layout
from ddcf.predictor import verdict
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.data import load_training_data
from ddcf.predictor.evaluation import baseline_predictions
from ddcf.predictor.stage import run
from ddcf.summary import render

FAST = dict(arch="paper", epochs=4, batch_size=256, lr=2e-2, threads=1, device="cpu", no_progress=True,
            baselines=["base_rate", "dataset_base_rate"], no_plot=True)
BEST = "base rate per model+dataset"


def _labels_from_model_and_dataset_only(layout: Layout, seed: int = 0) -> None:
    """Relabel every split: P(correct) depends only on (model, dataset), so the embeddings (pure noise with
    respect to the labels) carry nothing, and the per-model+dataset base rate is the best possible predictor."""
    rng = np.random.default_rng(seed)
    models = pd.read_parquet(layout.matrix)["model_id"].nunique()
    rate = {("gsm8k", m): 0.9 - 0.05 * m for m in range(models)} | {("math", m): 0.1 + 0.05 * m for m in range(models)}
    frames = {}
    for path in (layout.train_split, layout.val_split, layout.test_split):
        df = pd.read_parquet(path)
        p = np.array([rate[(d, m)] for d, m in zip(df["dataset"], df["model_id"])])
        df["correct"] = (rng.random(len(df)) < p).astype(np.int8)
        write_parquet(df, path)
        frames[path] = df
    write_parquet(pd.concat(frames.values(), ignore_index=True), layout.matrix)


@pytest.fixture(scope="module")
def beaten(tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("beaten") / "work")
    S.build(layout, n_models=6, n_questions=300, dim=16, test_frac=0.2, seed=3)
    _labels_from_model_and_dataset_only(layout)
    return layout, run(layout, PredictorConfig(**FAST))


def test_a_predictor_beaten_by_a_base_rate_warns_with_figures_size_and_what_to_try(beaten):
    layout, report = beaten
    (w,) = [w for w in report.warnings if "baseline beats the predictor" in w]
    met = json.loads(layout.predictor_metrics.read_text())
    check = met["baseline_check"]
    assert check["split"] == "test" and check["predictor"] == "predictor (paper)"
    assert met["beaten_by"] == check["beaten_by"] and met["beaten_by"][0]["baseline"] == BEST
    best = met["beaten_by"][0]
    test = met["test"]
    assert best["mean_model_auc"] == pytest.approx(test[BEST]["mean_model_auc"])
    assert best["log_loss"] == pytest.approx(test[BEST]["log_loss"])
    assert best["mean_model_auc"] > test["predictor (paper)"]["mean_model_auc"]
    assert best["log_loss"] < test["predictor (paper)"]["log_loss"]
    # 6 models x 300 questions, every pair observed
    assert check["matrix"] == dict(models=6, questions=300, pairs=1800)
    assert f"'{BEST}'" in w and f"{best['mean_model_auc']:.3f}" in w and f"{best['log_loss']:.3f}" in w
    assert "6 models x 300 questions, 1,800 observed pairs" in w
    for hint in ("more seed questions or more models", "stronger embedding model than toy/embedder-v1",
                 "--arch factor", "check the labels"):
        assert hint in w, hint


def test_ddcf_summary_shows_the_stored_verdict_and_recomputes_it_for_older_metrics(beaten):
    layout, _ = beaten
    text = render(layout)
    assert "WARNING: a trivial baseline beats the predictor" in text and BEST in text
    assert "1,800 observed pairs" in " ".join(text.split())
    # a metrics.json written before the check existed: the figures are there, the verdict is recomputed
    met = json.loads(layout.predictor_metrics.read_text())
    old = {k: v for k, v in met.items() if k not in ("beaten_by", "baseline_check")}
    layout.predictor_metrics.write_text(json.dumps(old))
    try:
        again = " ".join(render(layout).split())
    finally:
        layout.predictor_metrics.write_text(json.dumps(met))
    assert "WARNING: a trivial baseline beats the predictor" in again and "6 models x 300 questions" in again


def test_a_predictor_that_learns_is_not_flagged(tmp_path):
    layout = Layout(tmp_path / "w")
    S.build(layout, n_models=8, n_questions=600, dim=8, rank=2, seed=1, test_frac=0.2)
    report = run(layout, PredictorConfig(**{**FAST, "epochs": 20}))
    met = json.loads(layout.predictor_metrics.read_text())
    assert met["beaten_by"] == [] and met["baseline_check"]["matrix"]["models"] == 8
    assert not [w for w in report.warnings if "beats the predictor" in w]
    assert "WARNING" not in render(layout)


def test_beaten_by_needs_both_figures_strictly_better_and_ignores_undefined_ones():
    pred = "predictor (factor)"
    res = {pred: dict(mean_model_auc=0.70, log_loss=0.50),
           "auc only": dict(mean_model_auc=0.80, log_loss=0.55),
           "loss only": dict(mean_model_auc=0.60, log_loss=0.40),
           "tie": dict(mean_model_auc=0.70, log_loss=0.50),
           "nan": dict(mean_model_auc=math.nan, log_loss=0.1),
           "both": dict(mean_model_auc=0.71, log_loss=0.49),
           "better still": dict(mean_model_auc=0.75, log_loss=0.45)}
    assert [b["baseline"] for b in verdict.beaten_by(res, pred)] == ["better still", "both"]
    assert verdict.beaten_by({**res, pred: dict(mean_model_auc=math.nan, log_loss=0.5)}, pred) == []
    assert verdict.warning(verdict.baseline_check(res, pred, "test", {}, "factor")).count("--arch paper") == 1
    assert verdict.warning(verdict.baseline_check({pred: res[pred]}, pred, "test", {}, "factor")) is None


def test_each_baseline_shows_progress_and_its_time(tmp_path, capsys):
    layout = Layout(tmp_path / "w")
    S.build(layout, n_models=4, n_questions=200, dim=8, seed=2)
    data = load_training_data(layout)
    cfg = PredictorConfig(**{**FAST, "no_progress": False,
                             "baselines": ["base_rate", "dataset_base_rate", "knn", "logistic", "irt"]})
    _, _, seconds = baseline_predictions(data, cfg, data.val)
    err = capsys.readouterr().err  # not a terminal: plain lines, at least one per baseline when it ends
    for i, label in enumerate(["base rate per model", "base rate per model+dataset", "kNN", "logistic per model",
                               "IRT (2-dim, from embedding)"], 1):
        assert f"baseline {i}/5: {label}:" in err, label
    # the totals announced are the work actually done: each finite bar ends at 100%
    for line in err.splitlines():
        if "baseline" in line and "L-BFGS" not in line:
            assert "(100%)" in line, line
    assert "L-BFGS step" in err
    assert set(seconds) == {"base rate per model", "base rate per model+dataset", "kNN (k=100)",
                            "logistic per model", "IRT (2-dim, from embedding)"} or len(seconds) == 5


def test_the_stage_summary_lists_each_baselines_time(beaten):
    layout, report = beaten
    assert "baselines fitted in base rate per model " in report.summary and BEST in report.summary
    assert "baselines fitted in" in render(layout)
