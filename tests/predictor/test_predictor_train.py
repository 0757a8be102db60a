import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import predictor_synth as S
import pytest
import torch
from safetensors.torch import load_file

from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.io import save_embeddings, write_csv, write_parquet
from ddcf.layout import Layout
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.data import load_training_data
from ddcf.predictor.evaluation import evaluate_all
from ddcf.predictor.paper.train import BestCheckpoint, NoisePrefetcher, cosine_with_warmup
from ddcf.predictor.stage import run
from ddcf.predictor.train import train_predictor

ROOT = Path(__file__).resolve().parents[2]
# The paper arch's training loop (the factor arch's is in test_factor_model.py).
FAST = dict(arch="paper", epochs=4, batch_size=256, lr=2e-2, threads=1, device="cpu", no_progress=True,
            baselines=["base_rate", "dataset_base_rate", "knn"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("trained") / "work")
    synth = S.build(layout)
    report = run(layout, PredictorConfig(**FAST))
    return layout, synth, report


def test_toy_low_rank_matrix_is_learned_well(tmp_path):
    layout = Layout(tmp_path / "w")
    S.build(layout, n_models=8, n_questions=600, dim=8, rank=2, seed=1)
    data = load_training_data(layout)
    cfg = PredictorConfig(arch="paper", epochs=20, batch_size=256, lr=2e-2, threads=1, device="cpu",
                          no_progress=True, baselines=["base_rate"])
    result = train_predictor(data, cfg)
    results = evaluate_all(data, result, cfg).val
    pred = results["predictor (paper)"]
    assert pred["accuracy"] > 0.9 and pred["auc"] > 0.95
    assert pred["accuracy"] > results["base rate per model"]["accuracy"] + 0.15


def test_best_checkpoint_keeps_a_copy_of_the_best_weights():
    model = torch.nn.Linear(2, 1)
    best = BestCheckpoint()
    with torch.no_grad():
        model.weight.fill_(1.0)
    assert best.update(1, 0.7, model)
    with torch.no_grad():
        model.weight.fill_(2.0)  # a later, worse epoch must not change the saved copy
    assert not best.update(2, 0.6, model)
    assert not best.update(3, 0.7, model)  # ties keep the earlier epoch
    assert not best.update(4, float("nan"), model)
    best.restore(model)
    assert best.epoch == 1 and torch.all(model.weight == 1.0)


def test_training_returns_the_best_epoch_weights(trained):
    layout, _, report = trained
    metrics = json.loads(layout.predictor_metrics.read_text())
    accs = [e["val_accuracy"] for e in metrics["epochs"]]
    assert len(accs) == FAST["epochs"]
    assert metrics["best_epoch"] == int(np.argmax(accs)) + 1 == report.details["best_epoch"]
    # The saved model evaluates to the best epoch's accuracy, not the last one's.
    assert report.details["results"]["predictor (paper)"]["accuracy"] == pytest.approx(max(accs))


def test_best_epoch_is_restored_when_later_epochs_get_worse(tmp_path):
    # Validation labels are the opposite of the learnable rule: the better the model fits
    # the training rows, the worse its validation accuracy, so the best epoch is an early one.
    layout = Layout(tmp_path / "w")
    synth = S.build(layout, n_models=6, n_questions=300, dim=8, seed=1)
    write_parquet(synth.val.assign(correct=(1 - synth.val["correct"]).astype("int8")), layout.val_split)
    data = load_training_data(layout)
    cfg = PredictorConfig(arch="paper", epochs=6, batch_size=256, lr=2e-2, threads=1, device="cpu",
                          no_progress=True)
    result = train_predictor(data, cfg)
    accs = [h["val_accuracy"] for h in result.history]
    assert result.best_epoch == int(np.argmax(accs)) + 1 < cfg.epochs
    assert accs[-1] < max(accs)
    final = evaluate_all(data, result, cfg).val  # a temperature never moves a logit across 0: same accuracy
    assert final["predictor (paper)"]["accuracy"] == pytest.approx(max(accs))


def test_schedule_warms_up_then_decays_to_zero():
    f = cosine_with_warmup(100, 0.03)  # released: int(3) warmup steps, step / warmup, the first step at lr 0
    assert [round(f(s), 4) for s in range(4)] == [0.0, round(1 / 3, 4), round(2 / 3, 4), 1.0]
    assert f(99) < 0.01 and 0.45 < f(51) < 0.55
    assert cosine_with_warmup(10, 0.0)(0) == 1.0
    g = cosine_with_warmup(100, 0.03, "shifted")  # ddcf's earlier schedule: no step at lr 0
    assert [round(g(s), 4) for s in range(3)] == [round(1 / 3, 4), round(2 / 3, 4), 1.0]
    assert cosine_with_warmup(100, 0.025, "shifted")(2) == 1.0 and cosine_with_warmup(100, 0.025)(2) == 1.0
    with pytest.raises(ValueError):
        cosine_with_warmup(10, 0.1, "linear")


@pytest.mark.parametrize("total,ratio", [(100, 0.03), (2070, 0.03), (7, 0.5), (10, 0.0), (33, 0.1)])
def test_released_schedule_is_transformers_cosine_with_warmup(total, ratio):
    """The released code calls transformers.get_cosine_schedule_with_warmup(opt, int(ratio * T), T)."""
    transformers = pytest.importorskip("transformers")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    ref = transformers.get_cosine_schedule_with_warmup(opt, int(ratio * total), total).lr_lambdas[0]
    ours = cosine_with_warmup(total, ratio)
    assert [ours(s) for s in range(total)] == pytest.approx([ref(s) for s in range(total)], abs=1e-12)


def test_calibration_auto_is_none_for_paper_and_temperature_for_factor():
    assert PredictorConfig().calibration == "auto"
    assert PredictorConfig(arch="paper").resolved_calibration() == "none"
    assert PredictorConfig(arch="factor").resolved_calibration() == "temperature"
    assert PredictorConfig(arch="paper", calibration="temperature").resolved_calibration() == "temperature"
    assert PredictorConfig(arch="factor", calibration="none").resolved_calibration() == "none"


def test_outputs_written(trained):
    layout, synth, report = trained
    d = layout.predictor_dir
    for path in (layout.predictor_weights, layout.predictor_config, layout.predictor_metrics, layout.predictor_curve,
                 layout.predictor_reliability):
        assert path.parent == d and path.stat().st_size > 0
    assert report.files == [layout.predictor_weights, layout.predictor_config, layout.predictor_metrics,
                            layout.predictor_curve, layout.predictor_reliability]
    assert report.config_dir == d
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["models"] == synth.models
    assert cfg["architecture"]["dim"] == 16 and cfg["architecture"]["hidden_dim"] == 1
    assert cfg["architecture"]["dropout"] == 0.8 and cfg["architecture"]["num_models"] == 6
    assert cfg["architecture"]["out_dropout"] == 0.8 and cfg["architecture"]["drop_path"] == 0.2
    # --calibration auto: the paper arch keeps the released code's uncalibrated softmax probability
    assert cfg["calibration"]["method"] == "none" and cfg["calibration"]["temperature"] == 1.0
    assert cfg["training"]["calibration"] == "auto" and cfg["training"]["schedule"] == "released"
    assert cfg["training"]["epochs"] == 4 and cfg["training"]["weight_decay"] == 1e-5
    # config.json records what defines the model, not where or how loudly it ran
    assert not {"workdir", "no_progress", "no_plot"} & set(cfg["training"])
    assert cfg["weights"] == layout.predictor_weights.name
    emb = cfg["embedding"]
    assert emb["embedding_model"] == S.EMBEDDER and emb["dim"] == 16 and emb["normalized"] is True
    assert len(emb["question_ids_sha256"]) == 64 and len(cfg["split"]["sha256"]) == 64
    metrics = json.loads((d / "metrics.json").read_text())
    assert set(metrics["final"]) == set(report.details["results"]) and len(metrics["final"]) == 4
    assert metrics["final_split"] == "validation" and metrics["test"] is None  # this synthetic dir has no test split
    for row in metrics["final"].values():
        assert {"accuracy", "auc", "log_loss", "ece", "mean_model_auc", "n_models_auc"} <= set(row)
    knn = [k for k in metrics["final"] if k.startswith("kNN (k=")]
    assert len(knn) == 1 and "base rate per model+dataset" in metrics["final"]
    assert metrics["chosen_on_validation"]["knn"]["k"] in (5, 10, 20, 50, 100)
    assert any("no test split" in w for w in report.warnings)
    assert not list(d.glob(".*.tmp*"))  # atomic writes leave no temporaries


def test_same_seed_same_result(tmp_path, trained):
    layout, _, report = trained
    other = Layout(tmp_path / "copy")
    shutil.copytree(layout.root, other.root)
    again = run(other, PredictorConfig(**FAST, no_plot=True))
    assert again.details["results"]["predictor (paper)"] == report.details["results"]["predictor (paper)"]
    assert again.details["history"][-1]["train_loss"] == report.details["history"][-1]["train_loss"]
    a, b = load_file(layout.predictor_weights), load_file(other.predictor_weights)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # bit-identical weights


def test_cli_end_to_end(tmp_path, capsys):
    layout = Layout(tmp_path / "w")
    S.build(layout, n_models=3, n_questions=60)
    sys.path.insert(0, str(ROOT))
    import train_correctness_predictor as script

    rc = run_main(script.main, ["--workdir", str(layout.root), "--max_epochs", "5", "--ensemble", "2",
                                "--threads", "1", "--no_progress", "--no_plot", "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0 and "predictor (factor)" in out and "kNN (k=" in out and "mean model AUC" in out
    assert "logistic per model" in out and "IRT" in out and "calibration: temperature (T = " in out
    assert "trained on" in out and "best epochs" in out and str(layout.predictor_metrics) in out
    assert layout.predictor_weights.exists() and not layout.predictor_curve.exists()


# --------------------------------------------------------------------------- bad input
@pytest.fixture
def fresh(tmp_path):
    layout = Layout(tmp_path / "w")
    synth = S.build(layout, n_models=3, n_questions=40)
    return layout, synth


def _expect(layout, match, **cfg):
    with pytest.raises(DDCFError, match=match):
        run(layout, PredictorConfig(**{**FAST, "epochs": 1, "no_plot": True, **cfg}))


@pytest.mark.parametrize("attr", ["train_split", "val_split", "model_order", "seed_embeddings"])
def test_missing_files(fresh, attr):
    layout, _ = fresh
    getattr(layout, attr).unlink()
    _expect(layout, "does not exist")


def test_empty_split(fresh):
    layout, synth = fresh
    write_parquet(synth.val.iloc[:0], layout.val_split)
    _expect(layout, "no rows")


def test_missing_columns(fresh):
    layout, synth = fresh
    write_parquet(synth.train.drop(columns=["correct"]), layout.train_split)
    _expect(layout, "lacks the column")


def test_split_question_without_embedding(fresh):
    layout, synth = fresh
    bad = synth.train.copy()
    bad.loc[0, "question_id"] = "not-embedded"
    write_parquet(bad, layout.train_split)
    _expect(layout, "no vectors for 1 of")


def test_model_id_out_of_range(fresh):
    layout, synth = fresh
    bad = synth.train.copy()
    bad.loc[0, "model_id"] = 7
    write_parquet(bad, layout.train_split)
    _expect(layout, "model_id 7 but")


def test_model_order_mismatch(fresh):
    layout, synth = fresh
    mo = pd.DataFrame({"model_id": [0, 1, 2], "model": [synth.models[1], synth.models[0], synth.models[2]]})
    write_csv(mo, layout.model_order)
    _expect(layout, "disagree")


def test_model_order_bad_ids(fresh):
    layout, synth = fresh
    write_csv(pd.DataFrame({"model_id": [0, 2, 3], "model": synth.models}), layout.model_order)
    _expect(layout, "exactly once")


def test_bad_labels(fresh):
    layout, synth = fresh
    bad = synth.train.copy()
    bad["correct"] = bad["correct"].astype(float)
    bad.loc[0, "correct"] = float("nan")
    write_parquet(bad, layout.train_split)
    _expect(layout, "other than 0/1")


def test_nan_embeddings(fresh):
    layout, synth = fresh
    emb = synth.embeddings.copy()
    emb[3, 2] = np.nan
    save_embeddings(emb, synth.question_ids, layout.seed_embeddings, dict(embedding_model="x", normalized=True))
    _expect(layout, "non-finite")


@pytest.mark.parametrize("field,value", [("epochs", 0), ("lr", 0.0), ("dropout", 1.0), ("warmup_ratio", 1.5),
                                         ("batch_size", 0), ("alpha", -0.1), ("device", "tpu"),
                                         ("noise_prefetch", "maybe"), ("threads", -1), ("knn_k", 0)])
def test_out_of_range_options(field, value):
    with pytest.raises(DDCFError, match=f"--{field}"):
        PredictorConfig(**{field: value}).validate()


def test_cli_bad_option_exits_2(fresh, capsys):
    layout, _ = fresh
    sys.path.insert(0, str(ROOT))
    import train_correctness_predictor as script

    assert run_main(script.main, ["--workdir", str(layout.root), "--dropout", "1.5"]) == 2
    assert "--dropout" in capsys.readouterr().err
    layout.val_split.unlink()
    assert run_main(script.main, ["--workdir", str(layout.root), "--no_progress"]) == 2
    assert "val.parquet" in capsys.readouterr().err


def test_noise_prefetcher_draws_fresh_scaled_noise_in_order():
    a, b = NoisePrefetcher(64, 0.02, seed=3), NoisePrefetcher(64, 0.02, seed=3)
    try:
        xs = list(a.batches([500, 500, 7]))
        ys = list(b.batches([500, 500, 7]))
    finally:
        a.close()
        b.close()
    assert [x[0].shape for x in xs] == [(500, 64), (500, 64), (7, 64)]
    assert all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(xs, ys))  # seeded
    assert not torch.equal(xs[0][0], xs[1][0]) and not torch.equal(xs[0][0], xs[0][1])  # fresh samples
    allx = torch.cat([x[0] for x in xs[:2]] + [x[1] for x in xs[:2]])
    assert abs(allx.std().item() - 0.02) < 0.001


@pytest.mark.parametrize("mode", ["on", "off"])
def test_training_with_and_without_noise_prefetch(tmp_path, mode):
    layout = Layout(tmp_path / "w")
    S.build(layout, n_models=3, n_questions=60)
    data = load_training_data(layout)
    cfg = PredictorConfig(arch="paper", epochs=2, batch_size=64, threads=1, device="cpu", noise_prefetch=mode,
                          no_progress=True)
    r1 = train_predictor(data, cfg)
    r2 = train_predictor(data, cfg)
    assert r1.noise_prefetch == (mode == "on")
    assert [h["val_accuracy"] for h in r1.history] == [h["val_accuracy"] for h in r2.history]  # deterministic
    for a, b in zip(r1.model.state_dict().values(), r2.model.state_dict().values()):
        assert torch.equal(a, b)
