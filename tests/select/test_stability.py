"""Selection stability across predictor seeds (issue 23): overlap metrics and the report.json estimate."""

import numpy as np
import pytest
import torch

from ddcf.artifacts.difficulty import SE_COLUMN
from ddcf.predictor.factor.model import FactorPredictor
from ddcf.select.stability import (
    expected_overlap,
    inclusion_probabilities,
    overlap,
    pairwise_overlaps,
    pick_frequency,
    retraining_draw,
    selection_stability,
)

MODEL = "org/Target-7B"


def test_overlap_hand_computed():
    # {1,2,3,4} vs {3,4,5,6}: 2 shared of k=4 -> 0.5; union 6 -> Jaccard 1/3
    o = overlap([1, 2, 3, 4], [3, 4, 5, 6])
    assert o == dict(shared=2, shared_frac=0.5, jaccard=pytest.approx(1 / 3))
    assert overlap("abc", "abc") == dict(shared=3, shared_frac=1.0, jaccard=1.0)
    assert overlap([1, 2], [3, 4])["jaccard"] == 0.0


def test_pairwise_overlaps_hand_computed():
    # pairs: (A,B) 2/4, (A,C) 4/4, (B,C) 2/4 -> shared_frac mean 2/3, min 0.5, max 1
    a, b, c = [1, 2, 3, 4], [3, 4, 5, 6], [4, 3, 2, 1]
    out = pairwise_overlaps([a, b, c])
    assert out["pairs"] == 3
    assert out["shared_frac_mean"] == pytest.approx(2 / 3)
    assert (out["shared_frac_min"], out["shared_frac_max"]) == (0.5, 1.0)
    assert out["jaccard_mean"] == pytest.approx((1 / 3 + 1 + 1 / 3) / 3)
    assert pairwise_overlaps([a]) == dict(pairs=0)


def test_pick_frequency():
    f = pick_frequency([[1, 2, 3], [2, 3, 4], [3, 4, 5]])
    assert f == {1: 1, 2: 2, 3: 3, 4: 2, 5: 1}


def test_inclusion_probabilities_sum_to_k_and_limits():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=200)
    se = rng.uniform(0.01, 0.1, size=200)
    pi = inclusion_probabilities(p, se, 30)
    assert pi.sum() == pytest.approx(30, abs=1e-6)
    assert np.all((pi >= 0) & (pi <= 1))
    same = inclusion_probabilities(p, np.full(200, 0.05), 30)  # with one se for all: lower p, likelier picked
    assert np.all(np.diff(same[np.argsort(p)]) <= 1e-12)
    # no noise: exactly the 30 lowest, two retrainings agree completely
    assert expected_overlap(p, np.zeros(200), 30) == pytest.approx(1.0)
    # overwhelming noise: every question equally likely, expected overlap k / n
    assert expected_overlap(p, np.full(200, 1e6), 30) == pytest.approx(30 / 200, abs=1e-3)


def test_expected_overlap_two_groups_hand_computed():
    # 2 questions far below the rest: picked always; k=4 among 2 + 4 tied at 0.5 with equal se -> each of the 4
    # tied has pi = 0.5: expected overlap (2 * 1 + 4 * 0.25) / 4 = 0.75
    p = np.array([0.0, 0.0, 0.5, 0.5, 0.5, 0.5])
    se = np.array([1e-3, 1e-3, 0.01, 0.01, 0.01, 0.01])
    assert expected_overlap(p, se, 4) == pytest.approx(0.75, abs=1e-6)
    st = selection_stability(p, se, [0, 1, 2, 3])
    assert st["expected_overlap"] == pytest.approx(0.75, abs=1e-4)
    assert st["picks_clear"] == 0.5  # the 2 clear ones; the tied ones straddle t = 0.5
    assert st["threshold"] == pytest.approx(0.5, abs=1e-4)


def test_member_logits_average_to_the_ensemble():
    """The ensemble's logit is exactly the mean of its members' logits (what the standard error is taken of)."""
    torch.manual_seed(0)
    model = FactorPredictor(num_models=4, dim=6, hidden=5, rank=3, members=7).eval()
    x = torch.randn(11, 6)
    ids = torch.tensor([0, 2, 3])
    with torch.no_grad():
        fq = model.encode_questions(x)
        z = model.member_logits(fq, ids)  # (members, models, questions)
        own = torch.stack([m(x)[:, ids].T for m in model.members])
        d, b = model.directions(ids)
        mean = fq @ d.T + b[None, :]
    torch.testing.assert_close(z, own, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(z.mean(0), mean.T, rtol=1e-5, atol=1e-6)


def _with_se(layout, se):
    import pandas as pd

    from ddcf.io import read_parquet_metadata, write_parquet

    path = layout.difficulty(MODEL)
    df = pd.read_parquet(path)
    df[SE_COLUMN] = np.asarray(se, np.float32)
    write_parquet(df, path, metadata=read_parquet_metadata(path))


def _report(layout, lamda, k=12):
    import json

    from ddcf.select.cli import main

    assert main(["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", "--num_select", str(k),
                 "--lamda", str(lamda)]) == 0
    return json.loads(layout.selection_report(layout.selection_dir(MODEL, lamda, k)).read_text())


def test_report_json_carries_the_estimate(layout):
    from helpers_select import write_layout

    _, x, pc = write_layout(layout, n=80)
    # no standard errors in the difficulty table (the paper's predictor, older tables): no estimate
    assert _report(layout, 0.3)["stability"] is None
    _with_se(layout, np.full(80, 1e-7))  # (almost) no seed noise: every estimate says "stable"
    st = _report(layout, 0.3)["stability"]
    assert st["expected_overlap"] == 1.0 and st["reselect_overlap"] == 1.0 and "definition" in st
    _with_se(layout, np.full(80, 0.3))  # noise far above the spread of p: the picks are the seed's
    st = _report(layout, 0.9)["stability"]
    assert st["expected_overlap"] < 0.5 and st["reselect_overlap"] < 1.0
    # the direct estimate is k-greedy on retraining_draw with the selection's own settings: recomputable
    from ddcf.select.kgreedy.lazy import kgreedy_fast

    rows = kgreedy_fast(x, pc.astype(np.float64), 12, 0.9).indices
    other = kgreedy_fast(x, retraining_draw(pc.astype(np.float64), np.full(80, np.float32(0.3))), 12, 0.9).indices
    assert st["reselect_overlap"] == round(overlap(rows, other)["shared_frac"], 4)
    assert _report(layout, 0.0)["stability"]["reselect_overlap"] == 1.0  # lamda 0 never reads p
    from ddcf.select.report import summary_text

    rep = _report(layout, 0.9)
    assert f"keep ~{rep['stability']['reselect_overlap']:.0%} of the picks" in summary_text({**rep, "seconds_total": 1})


def test_fixed_seed_same_picks_run_to_run(tmp_path):
    """Retraining the default predictor with the same seed gives bit-identical scores and standard errors, so the
    same picks; another seed gives other scores (the test can fail both ways)."""
    import predictor_synth as S

    from ddcf.difficulty.scoring import score_chunks
    from ddcf.layout import Layout
    from ddcf.predictor.config import PredictorConfig
    from ddcf.predictor.data import load_training_data
    from ddcf.predictor.store import LoadedPredictor
    from ddcf.predictor.train import train_predictor
    from ddcf.select.kgreedy.lazy import kgreedy_fast

    layout = Layout(tmp_path / "w")
    synth = S.build(layout, n_models=4, n_questions=80, corpus_n=60)
    data = load_training_data(layout)
    x = synth.corpus_embeddings

    def scores(seed):
        res = train_predictor(data, PredictorConfig(ensemble=3, max_epochs=8, seed=seed, baselines=[], threads=1,
                                                    device="cpu", no_progress=True))
        pred = LoadedPredictor(model=res.model, config={}, config_sha256="", directory=tmp_path)
        se = np.empty((1, len(x)), np.float32)
        p = score_chunks(pred, x, [1], progress=False, se_out=se)[0]
        return p, se[0], kgreedy_fast(x, p.astype(np.float64), 10, 0.5).indices

    p1, se1, picks1 = scores(7)
    p2, se2, picks2 = scores(7)
    assert np.array_equal(p1, p2) and np.array_equal(se1, se2) and np.array_equal(picks1, picks2)
    p3, _, _ = scores(8)
    assert not np.array_equal(p1, p3)
