"""Smoke runs of benchmarks/bench_predictor_quality.py and bench_predictor_scaling.py on a synthetic work dir,
plus exact checks of their splitting, subsetting and "tied within noise" rules."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import predictor_synth as S
import pytest

from ddcf.layout import Layout

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_predictor_quality as Q
import bench_predictor_scaling as C
import predictor_bench_data as bd

QUICK = dict(ensemble=1, max_epochs=15, patience=3, epochs=3, threads=1, device="cpu")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench") / "work"
    S.build(Layout(work), n_models=5, n_questions=200, dim=8, rank=2, seed=3)
    return work, bd.load_matrix(work)


def test_load_matrix_and_make_data_keep_ids_and_subsets(synth):
    _, mat = synth
    assert mat.models == [f"org/model-{i}" for i in range(5)] and mat.rates is None
    side = bd.question_split(mat, seed=1)
    assert set(side.values()) == {"train", "val", "test"}
    keep = sorted(q for q, s in side.items() if s == "train")[:30]
    data = bd.make_data(mat, side, models=["org/model-3", "org/model-1"], train_questions=set(keep))
    assert data.models == ["org/model-3", "org/model-1"]
    assert data.stats["n_train_questions"] == 30 and data.stats["n_train"] == 60
    assert data.stats["test_questions_also_in_train_or_val"] == 0 == data.stats["val_questions_also_in_train"]
    # model ids renumbered in the given order, labels carried by (model, question) id
    truth = mat.rows.set_index(["model", "question_id"])["correct"]
    qids = np.asarray(data.question_ids)[data.test.q_row]
    names = np.asarray(data.models)[data.test.model_id]
    assert (truth.loc[list(zip(names, qids))].to_numpy() == data.test.correct).all()


def test_transfer_split_tests_only_the_held_out_dataset(synth):
    _, mat = synth
    strata = mat.strata()
    for s, side in Q.transfer_splits(mat, 2, "math"):
        assert {q for q, v in side.items() if v == "test"} == {q for q, d in strata.items() if d == "math"}
        assert {strata[q] for q, v in side.items() if v != "test"} == {"gsm8k"}
        assert {"train", "val"} <= set(side.values())


def test_tied_rule_and_mean_sd():
    assert bd.tied([0.80, 0.82, 0.81], [0.79, 0.83, 0.80]) == (True, pytest.approx(1 / 300), pytest.approx(0.011547,
                                                                                                        abs=1e-6))
    ok, d, sd = bd.tied([0.80, 0.81], [0.70, 0.72])  # 0.095 apart, sd of the difference 0.0071: not tied
    assert not ok and d == pytest.approx(0.095) and sd == pytest.approx(0.01 / math.sqrt(2))
    assert bd.tied([0.5], [0.5015])[0] and not bd.tied([0.5], [0.503])[0]  # one seed: only the 0.002 floor
    assert bd.mean_sd([1.0, 3.0, math.nan]) == (2.0, pytest.approx(math.sqrt(2)))
    assert math.isnan(bd.mean_sd([1.0])[1]) and bd.fmt(1.0, math.nan) == "1.0000"


def test_verdicts_flag_a_worse_default():
    runs = [{"test": {Q.DEFAULT: {"auc": 0.70 + e, "ece": 0.05}, "kNN (k on val)": {"auc": 0.80 + e, "ece": 0.05}}}
            for e in (0.0, 0.01, 0.02)]
    text, ok = Q.verdicts(runs)
    assert not ok and "NOT best: worse than kNN (k on val) by 0.1000" in text and "tied with kNN" in text
    # the blend row is a variant of the default measured beside it: it never makes the default "not best"
    runs = [{"test": {Q.DEFAULT: {"auc": 0.70 + e}, Q.BLEND: {"auc": 0.80 + e}, Q.KNN: {"auc": 0.60 + e}}}
            for e in (0.0, 0.01, 0.02)]
    text, ok = Q.verdicts(runs)
    assert ok and "default 0.7100: BEST" in text
    assert "mean model AUC" not in text  # the blend line needs that metric


def test_quality_main_on_synthetic_workdir(synth, tmp_path, capsys):
    work, mat = synth
    runs = Q.run_protocol(mat, Q.main_splits(mat, 2), overrides=QUICK, log=lambda *_: None)
    assert [r["seed"] for r in runs] == [0, 1]
    methods = set(runs[0]["test"])
    assert {Q.DEFAULT, Q.BLEND, "predictor (paper)", "kNN (k on val)", "IRT (2-dim, from embedding)"} <= methods
    assert {"k", "weight", "temperature"} <= set(runs[0]["chosen"][Q.BLEND])
    for r in runs:
        for m in r["test"].values():
            assert all(not math.isnan(m[k]) for k in ("accuracy", "auc", "log_loss", "ece", "mean_model_auc"))
    text, _ = Q.report(runs, "synthetic")
    assert "mean ± sd over 2 seed(s)" in text and "predictor (paper)" in text and "median seconds" in text
    assert "kNN blend (not the default" in text and "lead over kNN: default" in text
    # the command line, transfer tables and the JSON of per-seed figures
    out = tmp_path / "q.json"
    assert Q.main(["--workdir", str(work), "--seeds", "1", "--skip_paper", "--transfer", "--ensemble", "1",
                   "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "command: python" in printed and "test on math" in printed and "test on gsm8k" in printed
    saved = json.loads(out.read_text())
    assert len(saved["results"]) == 2 and all(len(v) == 1 for v in saved["results"].values())


def test_scaling_sweeps_and_figure(synth, tmp_path):
    work, mat = synth
    side = bd.question_split(mat, 0)
    target = mat.models[2]
    m_rows = C.sweep_models(mat, side, target, [1, 3, None], 2, "factor", 1, log=lambda *_: None)
    assert [r["size"] for r in m_rows] == [1, 1, 3, 3, "all", "all"] and [r["models"] for r in m_rows] == [1, 1, 3,
                                                                                                           3, 5, 5]
    assert m_rows[0]["mean_accuracy"] == m_rows[0]["target_accuracy"]  # one model: it is the only target
    n_train = sum(v == "train" for v in side.values())
    q_rows = C.sweep_questions(mat, side, target, [20, None], 1, "factor", 1, log=lambda *_: None)
    assert [r["train_questions"] for r in q_rows] == [20, n_train]
    m_agg, q_agg = C.aggregate(m_rows), C.aggregate(q_rows)
    assert "target acc" in C.table(m_agg, "models") and len(q_agg) == 2
    png = C.plot(m_agg, q_agg, target, "factor", tmp_path / "s.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert C.parse_sizes("1, 4,all") == [1, 4, None]


def test_only_dataset_and_model_inputs(synth):
    import dataclasses

    from ddcf.predictor.features import TEXT_FEATURES, text_features

    _, mat = synth
    gsm = bd.only_dataset(mat, "gsm8k")
    assert set(gsm.rows["dataset"]) == {"gsm8k"} and gsm.models == mat.models
    assert sorted(gsm.rows["model_id"].unique()) == list(range(len(gsm.models)))
    with pytest.raises(SystemExit, match="no such dataset"):
        bd.only_dataset(mat, "nosuch")

    class Reader:  # a model that reads the text statistics
        n_text = len(TEXT_FEATURES)

    texts = {q: f"{q} has {i} apples" for i, q in enumerate(mat.emb_ids)}
    x = bd.model_inputs(dataclasses.replace(mat, texts=texts), Reader())
    assert x.shape == (len(mat.emb_ids), mat.arr.shape[1] + len(TEXT_FEATURES))
    np.testing.assert_array_equal(x[:, mat.arr.shape[1]:], text_features([texts[q] for q in mat.emb_ids]))
    assert bd.model_inputs(mat, object()).shape == mat.arr.shape  # embeddings only
