import pytest
import torch

from ddcf.predictor.config import hidden_width
from ddcf.predictor.paper.model import CorrectnessPredictor, DropPath, ResidualMLPBlock


def test_shapes_and_probabilities():
    torch.manual_seed(0)
    m = CorrectnessPredictor(num_models=5, dim=20, hidden_dim=2)
    ids = torch.tensor([0, 4, 2])
    q = torch.randn(3, 20)
    assert m(ids, q).shape == (3, 2)
    assert m.encode_questions(q).shape == (3, 20)
    assert m.encode_models(ids).shape == (3, 20)
    p = m.predict_proba(ids, q)
    assert p.shape == (3,) and torch.all((p >= 0) & (p <= 1))
    assert m.training  # predict_proba restores the mode it found


def test_predict_proba_is_softmax_of_two_logits():
    torch.manual_seed(1)
    m = CorrectnessPredictor(3, 8, 1).eval()
    ids, q = torch.tensor([0, 1, 2]), torch.randn(3, 8)
    logits = m(ids, q)
    assert torch.allclose(m.predict_proba(ids, q), torch.sigmoid(logits[:, 1] - logits[:, 0]), atol=1e-6)


def test_block_is_exact_identity_at_init_even_in_training_mode():
    torch.manual_seed(0)
    block = ResidualMLPBlock(dim=32, hidden=3, dropout=0.8)
    x = torch.randn(7, 32)
    assert torch.equal(block.eval()(x), x)
    assert torch.equal(block.train()(x), x)  # W2 == 0: dropout cannot leak anything
    assert torch.count_nonzero(block.w2.weight) == 0 and torch.count_nonzero(block.w2.bias) == 0


def test_block_learns_a_correction_after_an_update():
    torch.manual_seed(0)
    block = ResidualMLPBlock(dim=8, hidden=2, dropout=0.0)
    x = torch.randn(16, 8)
    opt = torch.optim.SGD(block.parameters(), lr=0.1)
    (block(x) ** 2).sum().backward()
    opt.step()
    assert not torch.equal(block(x), x)


@pytest.mark.parametrize("dim,expected", [(384, 38), (2560, 256), (16, 1), (5, 1), (100, 10)])
def test_hidden_width_is_a_tenth_of_dim_at_least_one(dim, expected):
    assert hidden_width(dim, 0.1) == expected
    m = CorrectnessPredictor(2, dim, hidden_width(dim, 0.1))
    assert m.question_block.w1.out_features == expected and m.model_block.w2.in_features == expected


def test_dropout_rate_and_default_hyperparameters():
    m = CorrectnessPredictor(2, 40)
    assert m.question_block.drop.p == 0.8 and m.model_block.drop.p == 0.8
    # the released block's second dropout and drop-path
    assert m.question_block.drop2.p == 0.8 and m.model_block.drop2.p == 0.8
    assert m.question_block.drop_path.p == 0.2 and m.model_block.drop_path.p == 0.2
    assert m.alpha == 1e-2 and m.hidden_dim == 4
    assert isinstance(m.model_block.norm, torch.nn.LayerNorm) and isinstance(m.model_block.act, torch.nn.ReLU)
    assert m.model_embedding.num_embeddings == 2 and m.model_embedding.embedding_dim == 40
    assert m.head.out_features == 2


def test_noise_only_in_training():
    torch.manual_seed(0)
    noisy = CorrectnessPredictor(4, 16, 1, dropout=0.0, alpha=0.05)
    clean = CorrectnessPredictor(4, 16, 1, dropout=0.0, alpha=0.0)
    clean.load_state_dict(noisy.state_dict())
    ids, q = torch.tensor([0, 1, 2, 3]), torch.randn(4, 16)
    noisy.eval()
    a, b = noisy(ids, q), noisy(ids, q)
    assert torch.equal(a, b)  # deterministic in eval mode
    assert torch.equal(a, clean.eval()(ids, q))  # and equal to the noiseless forward
    noisy.train()
    assert not torch.allclose(noisy(ids, q), a)  # training mode adds noise
    assert torch.equal(clean.train()(ids, q), a)  # alpha=0, dropout=0: training == eval


def test_noise_has_std_alpha_on_both_inputs():
    torch.manual_seed(0)
    m = CorrectnessPredictor(3, 64, 6, dropout=0.0, alpha=0.02).train()
    q = torch.zeros(4000, 64)
    # Blocks are the identity at init, so the encoder outputs are input + noise.
    dq = m.encode_questions(q)
    ids = torch.zeros(4000, dtype=torch.long)
    dm = m.encode_models(ids) - m.model_embedding.weight[0]
    for d in (dq, dm):
        assert abs(d.std().item() - 0.02) < 0.001 and abs(d.mean().item()) < 0.001


def test_from_architecture_round_trip():
    m = CorrectnessPredictor(3, 12, 2, dropout=0.5, alpha=0.1)
    m2 = CorrectnessPredictor.from_architecture(m.architecture())
    assert m2.architecture() == m.architecture()


def test_pre_drawn_noise_is_used_only_in_training():
    torch.manual_seed(0)
    m = CorrectnessPredictor(3, 8, 1, dropout=0.0, alpha=0.5)
    ids, q = torch.tensor([0, 1]), torch.randn(2, 8)
    nm, nq = torch.randn(2, 8), torch.randn(2, 8)
    m.train()
    expected = m.head((m.model_embedding(ids) + nm) * (q + nq))  # blocks are the identity at init
    assert torch.allclose(m(ids, q, (nm, nq)), expected)
    m.eval()
    assert torch.equal(m(ids, q, (nm, nq)), m(ids, q))


def _branch(block: ResidualMLPBlock, x: torch.Tensor) -> torch.Tensor:
    """The residual branch in training mode (output minus input)."""
    return block.train()(x) - x


def _nonzero_block(**kw) -> ResidualMLPBlock:
    torch.manual_seed(0)
    block = ResidualMLPBlock(dim=8, hidden=4, **kw)
    with torch.no_grad():
        block.w2.weight.normal_()
        block.w2.bias.normal_()
    return block


def test_drop_path_drops_whole_rows_at_rate_p_and_rescales_the_rest():
    block = _nonzero_block(dropout=0.0, out_dropout=0.0, drop_path=0.2)
    x = torch.randn(20000, 8)
    with torch.no_grad():
        full = block.eval()(x) - x
        got = _branch(block, x)
    dropped = (got == 0).all(1)
    kept = ~dropped
    assert abs(dropped.float().mean().item() - 0.2) < 0.01  # one Bernoulli per row, not per element
    assert torch.allclose(got[kept], full[kept] / 0.8, atol=1e-5)  # timm's scale_by_keep
    assert ((got == 0).any(1) == dropped).all()  # a row is dropped whole or not at all


def test_second_dropout_masks_elements_of_the_branch_output():
    block = _nonzero_block(dropout=0.0, out_dropout=0.5, drop_path=0.0)
    x = torch.randn(4000, 8)
    with torch.no_grad():
        full = block.eval()(x) - x
        got = _branch(block, x)
    zero = got == 0
    assert abs(zero.float().mean().item() - 0.5) < 0.02 and 0 < zero.sum(1).float().mean() < 8  # per element
    assert torch.allclose(got[~zero], full[~zero] / 0.5, atol=1e-5)


def test_earlier_block_has_neither_and_draws_nothing_for_them():
    block = _nonzero_block(dropout=0.0, out_dropout=0.0, drop_path=0.0)
    x = torch.randn(64, 8)
    state = torch.get_rng_state()
    with torch.no_grad():
        assert torch.allclose(block.train()(x), block.eval()(x))
    assert torch.equal(torch.get_rng_state(), state)
    assert DropPath(0.3).eval()(x) is x


def test_configs_saved_before_the_released_block_load_with_it_off():
    arch = CorrectnessPredictor(3, 12, 2).architecture()
    assert arch["out_dropout"] == 0.8 and arch["drop_path"] == 0.2
    old = {k: v for k, v in arch.items() if k not in ("out_dropout", "drop_path")}
    m = CorrectnessPredictor.from_architecture(old)
    assert m.out_dropout == 0.0 and m.drop_path == 0.0
