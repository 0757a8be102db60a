"""Smoke run of benchmarks/bench_selection_stability.py on a synthetic work dir; figures recomputed from picks."""

import itertools
import json
import sys
from pathlib import Path

import predictor_synth as S

from ddcf.layout import Layout
from ddcf.select.stability import overlap

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_selection_stability as B


def test_benchmark_smoke(tmp_path, capsys):
    work = tmp_path / "work"
    synth = S.build(Layout(work), n_models=4, n_questions=120, corpus_n=60, test_frac=0.2, seed=2)
    out = tmp_path / "out.json"
    assert B.main(["--workdir", str(work), "--target", synth.models[1], "--seeds", "1,2", "--lamdas", "0,0.5",
                   "--ks", "5,20", "--set", "ensemble=2", "--set", "max_epochs=5", "--noise", "1e-3",
                   "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "shared/k mean" in printed and "same p + N(0, 0.001^2)" in printed
    res = json.loads(out.read_text())["archs"]["factor"]
    assert [(r["lamda"], r["k"]) for r in res["rows"]] == [(0.0, 5), (0.0, 20), (0.5, 5), (0.5, 20)]
    for r in res["rows"]:
        pairs = [overlap(a, b) for a, b in itertools.combinations(r["picks"], 2)]
        assert r["shared_mean"] == sum(p["shared_frac"] for p in pairs) / len(pairs)
        assert r["near_dup_mean"] >= r["shared_mean"] and 0 <= r["est"] <= 1
        if r["lamda"] == 0:  # k-greedy at lambda 0 never reads p: every seed picks the same
            assert r["shared_mean"] == 1.0 and r["est"] == 1.0
    assert len(res["test_auc"]) == 2 and res["spread"]["se_mean"] > 0


def test_flips_change_exactly_n_training_labels_and_nothing_else(tmp_path, capsys):
    import numpy as np

    from ddcf.predictor.data import load_training_data

    work = tmp_path / "work"
    synth = S.build(Layout(work), n_models=4, n_questions=120, corpus_n=60, test_frac=0.2, seed=2)
    data = load_training_data(Layout(work))
    a, b = B.flipped(data, 7, 1), B.flipped(data, 7, 2)
    assert int((a.train.correct != data.train.correct).sum()) == 7
    assert not np.array_equal(a.train.correct, b.train.correct)  # another choice per retraining
    np.testing.assert_array_equal(B.flipped(data, 7, 1).train.correct, a.train.correct)  # seeded
    assert a.val is data.val and a.test is data.test and np.array_equal(a.train.q_row, data.train.q_row)
    assert B.main(["--workdir", str(work), "--target", synth.models[1], "--seeds", "1,2", "--lamdas", "0.5",
                   "--ks", "5", "--set", "ensemble=2", "--set", "max_epochs=5", "--noise", "", "--flips", "7"]) == 0
    assert "over 7 flipped training labels (choices 1, 2; predictor seed 1)" in capsys.readouterr().out
