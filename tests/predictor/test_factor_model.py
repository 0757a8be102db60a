"""The default predictor (arch factor): its scoring identities, training determinism, storage and the
paper arch kept exactly."""

import numpy as np
import predictor_synth
import pytest
import torch

from ddcf.layout import Layout
from ddcf.predictor.config import PredictorConfig, hidden_width
from ddcf.predictor.data import load_training_data
from ddcf.predictor.factor.model import FactorPredictor
from ddcf.predictor.factor.train import dense_targets
from ddcf.predictor.paper.model import CorrectnessPredictor
from ddcf.predictor.store import load_predictor, save_predictor
from ddcf.predictor.train import train_predictor

FAST = dict(ensemble=2, max_epochs=40, patience=5, baselines=[], threads=1, device="cpu", no_progress=True,
            no_plot=True)


def test_ensemble_logit_is_the_mean_of_member_logits_and_one_bilinear_form():
    torch.manual_seed(0)
    m = FactorPredictor(num_models=4, dim=12, hidden=8, rank=3, members=3).eval()
    x = torch.randn(5, 12)
    ids = torch.tensor([0, 3, 1, 2, 0])
    members = torch.stack([mem(x)[torch.arange(5), ids] for mem in m.members]).mean(0)
    assert torch.allclose(m.logit_pairs(ids, x), members, atol=1e-6)
    d, b = m.directions(torch.arange(4))
    grid = m.encode_questions(x) @ d.T + b  # (5 questions, 4 models): what stage 5 computes
    assert torch.allclose(grid[torch.arange(5), ids], members, atol=1e-6)
    assert m.encode_questions(x).shape == (5, m.factor_dim) == (5, 9)


def test_temperature_divides_the_logit():
    torch.manual_seed(1)
    m = FactorPredictor(3, 6, 4, 2, 1)
    ids, x = torch.tensor([0, 1, 2]), torch.randn(3, 6)
    z = m.eval().logit_pairs(ids, x)
    assert torch.allclose(m.predict_proba(ids, x, temperature=2.5), torch.sigmoid(z / 2.5), atol=1e-6)


def test_paper_model_directions_match_its_two_logit_head():
    torch.manual_seed(2)
    m = CorrectnessPredictor(4, 10, 2, dropout=0.8, alpha=0.01).eval()
    torch.nn.init.normal_(m.model_block.w2.weight)  # not the identity, so the block matters
    x, ids = torch.randn(6, 10), torch.tensor([0, 1, 2, 3, 0, 2])
    logits = m(ids, x)
    d, b = m.directions(ids)
    assert torch.allclose((m.encode_questions(x) * d).sum(1) + b, logits[:, 1] - logits[:, 0], atol=1e-5)
    assert torch.allclose(m.predict_proba(ids, x), torch.softmax(logits, -1)[:, 1], atol=1e-6)


def test_dense_targets_mask_missing_pairs():
    from ddcf.predictor.data import Pairs

    p = Pairs(np.array([0, 2, 1, 2]), np.array([5, 5, 9, 9]), np.array([1, 0, 1, 1]), np.array(["a"] * 4))
    rows, y, mask = dense_targets(p, 3)
    assert rows.tolist() == [5, 9]
    assert mask.tolist() == [[1, 0, 1], [0, 1, 1]]
    assert y.tolist() == [[1, 0, 0], [0, 1, 1]]


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("factor"))
    predictor_synth.build(layout, n_models=6, n_questions=240, dim=16)
    return layout, load_training_data(layout)


def test_factor_training_is_deterministic_and_learns(synth_data):
    _, data = synth_data
    a = train_predictor(data, PredictorConfig(seed=3, **FAST))
    b = train_predictor(data, PredictorConfig(seed=3, **FAST))
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert a.arch == "factor" and len(a.best_epochs) == 2
    emb = torch.from_numpy(data.embeddings)
    p = a.model.predict_proba(torch.from_numpy(data.val.model_id), emb[torch.from_numpy(data.val.q_row)])
    acc = float(((p.numpy() >= 0.5) == (data.val.correct == 1)).mean())
    assert acc > 0.75, acc  # the planted low-rank structure is learnable from the embeddings


def test_factor_store_round_trip(synth_data, tmp_path):
    _, data = synth_data
    res = train_predictor(data, PredictorConfig(**FAST))
    cfg = save_predictor(res.model, tmp_path / "w.safetensors", tmp_path / "config.json",
                         {"models": data.models, "calibration": {"temperature": 1.7}})
    assert cfg["architecture"]["arch"] == "factor"
    loaded = load_predictor(tmp_path / "config.json", tmp_path / "w.safetensors")
    assert isinstance(loaded.model, FactorPredictor) and loaded.temperature == 1.7
    x, ids = torch.from_numpy(data.embeddings[:7]), torch.arange(7) % len(data.models)
    assert torch.equal(loaded.model.logit_pairs(ids, x), res.model.eval().logit_pairs(ids, x))


def test_arch_paper_builds_the_papers_predictor_with_its_settings(synth_data):
    _, data = synth_data
    cfg = PredictorConfig(arch="paper", epochs=1, batch_size=256, threads=1, device="cpu", no_progress=True,
                          baselines=[])
    d = PredictorConfig()  # the paper arch's options keep App. A.1's values as defaults
    assert (d.lr, d.weight_decay, d.warmup_ratio, d.alpha, d.dropout, d.hidden_ratio, d.batch_size, d.epochs) == (
        1e-3, 1e-5, 0.03, 1e-2, 0.8, 0.1, 1028, 30)
    res = train_predictor(data, cfg)
    model = res.model
    assert isinstance(model, CorrectnessPredictor) and res.arch == "paper"
    dim = data.embeddings.shape[1]
    assert model.hidden_dim == hidden_width(dim, 0.1) and model.dropout == 0.8 and model.alpha == 0.01
    # App. A.1's block: x + W2(Dropout(ReLU(W1(LayerNorm(x))))), one per side, then Linear(d, 2) on E_m * E_q.
    for block in (model.model_block, model.question_block):
        assert isinstance(block.norm, torch.nn.LayerNorm) and isinstance(block.act, torch.nn.ReLU)
        assert block.w1.in_features == dim and block.w1.out_features == model.hidden_dim
        assert block.w2.out_features == dim and block.drop.p == 0.8
    assert model.head.in_features == dim and model.head.out_features == 2


@pytest.mark.parametrize("arch,option,value", [("factor", "epochs", 5), ("factor", "batch_size", 64),
                                               ("paper", "ensemble", 2), ("paper", "max_epochs", 9)])
def test_an_option_of_the_other_arch_is_refused_not_ignored(arch, option, value):
    from ddcf.errors import DDCFError

    with pytest.raises(DDCFError, match=f"--{option} only apply to --arch"):
        PredictorConfig(arch=arch, **{option: value}).validate()
    PredictorConfig(arch=arch).validate()  # the defaults of the other arch's options are fine
