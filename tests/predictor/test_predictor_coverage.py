"""A predictor that cannot predict is refused or reported: one-class labels, models without training rows,
undefined metrics written as null (never a bare NaN)."""

import json
import math

import numpy as np
import pandas as pd
import predictor_synth as S
import pytest

from ddcf.errors import DDCFError
from ddcf.io import write_parquet
from ddcf.layout import Layout
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.stage import run

FAST = dict(arch="paper", epochs=1, batch_size=256, lr=2e-2, threads=1, device="cpu", no_progress=True, no_plot=True,
            baselines=["base_rate", "knn"])


def _no_nan(text: str):
    def refuse(token):
        raise AssertionError(f"bare {token} in JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def fresh(tmp_path):
    layout = Layout(tmp_path / "w")
    return layout, S.build(layout, n_models=4, n_questions=60, test_frac=0.2)


@pytest.mark.parametrize("label", [0, 1])
def test_one_class_training_labels_are_refused(fresh, label):
    layout, synth = fresh
    for path, df in ((layout.train_split, synth.train), (layout.val_split, synth.val)):
        write_parquet(df.assign(correct=label), path)
    word = "correct" if label else "wrong"
    with pytest.raises(DDCFError, match=f"Every one of the .* training answers is {word}"):
        run(layout, PredictorConfig(**FAST))
    assert not layout.predictor_config.exists()


def test_models_without_rows_or_with_one_class_are_warned_about_and_recorded(fresh):
    layout, synth = fresh
    m = synth.models
    train = synth.train[synth.train["model"] != m[1]].copy()  # m1: listed in model_order.csv, no training rows
    train.loc[train["model"] == m[2], "correct"] = 1  # m2: every training answer correct
    write_parquet(train, layout.train_split)
    report = run(layout, PredictorConfig(**FAST))
    assert len(report.warnings) == 2
    assert f"{m[1]!r} is listed in {layout.model_order} but has no training rows" in report.warnings[0]
    assert "create_training_data.py and train_correctness_predictor.py" in report.warnings[0]
    assert f"every training answer of the model {m[2]!r} is correct" in report.warnings[1]
    cfg = json.loads(layout.predictor_config.read_text())
    assert cfg["models_with_training_rows"] == [m[0], m[2], m[3]]
    assert cfg["one_class_models"] == {m[2]: "correct"}
    assert cfg["train_rows_per_model"] == {name: int((train["model"] == name).sum()) for name in (m[0], m[2], m[3])}


def test_undefined_metrics_are_written_as_null(fresh):
    layout, synth = fresh
    write_parquet(synth.val.assign(correct=1), layout.val_split)  # one class: every AUC is undefined
    report = run(layout, PredictorConfig(**FAST))
    assert any("AUCs are undefined" in w for w in report.warnings)
    assert math.isnan(report.details["val_results"]["predictor (paper)"]["auc"])
    metrics = _no_nan(layout.predictor_metrics.read_text())
    assert metrics["validation"]["predictor (paper)"]["auc"] is None
    assert metrics["epochs"][0]["val_auc"] is None
    assert metrics["validation"]["predictor (paper)"]["accuracy"] == pytest.approx(
        report.details["val_results"]["predictor (paper)"]["accuracy"])
    _no_nan(layout.predictor_config.read_text())


@pytest.mark.parametrize("arch", ["paper", "factor"])
def test_a_normal_run_has_no_coverage_warning(fresh, arch):
    layout, synth = fresh
    cfg = FAST if arch == "paper" else dict(ensemble=1, max_epochs=5, threads=1, device="cpu", no_progress=True,
                                            no_plot=True, baselines=["base_rate", "knn"])
    report = run(layout, PredictorConfig(**cfg))
    # (a few epochs on a toy matrix may lose to kNN: that warning is right, and not about coverage)
    assert [w for w in report.warnings if "baseline beats the predictor" not in w] == []
    cfg = json.loads(layout.predictor_config.read_text())
    assert cfg["models_with_training_rows"] == synth.models and cfg["one_class_models"] == {}
    assert sum(cfg["train_rows_per_model"].values()) == len(pd.read_parquet(layout.train_split))


def test_an_empty_test_split_reports_validation_figures_with_a_warning(fresh):
    layout, synth = fresh
    write_parquet(synth.train.iloc[:0], layout.test_split)  # create_training_data.py --test_ratio 0 writes this
    report = run(layout, PredictorConfig(**FAST))
    assert any("the test split is empty" in w for w in report.warnings)
    metrics = _no_nan(layout.predictor_metrics.read_text())
    assert metrics["final_split"] == "validation" and metrics["test"] is None
    assert "test metrics" not in report.summary and "validation metrics" in report.summary


def test_pass_rates_give_the_per_model_spearman_column(fresh):
    """A matrix built from sampled generation (n > 1 verdicts per pair) has measured pass rates; the predictor is
    then also scored by the per-model Spearman correlation against them, on test and validation."""
    layout, synth = fresh
    m = pd.read_parquet(layout.matrix)
    rng = np.random.default_rng(0)
    m["n"] = 4
    m["pass_rate"] = np.clip(m["correct"] * 0.75 + rng.integers(0, 2, len(m)) * 0.25, 0, 1)
    write_parquet(m, layout.matrix)
    report = run(layout, PredictorConfig(**FAST))
    assert report.details["stats"]["has_pass_rates"]
    for split in ("test_results", "val_results"):
        row = report.details[split]["predictor (paper)"]
        assert -1.0 <= row["mean_model_spearman"] <= 1.0 and row["n_models_spearman"] == 4
    assert "Spearman" in report.summary
