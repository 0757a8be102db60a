"""The fused training step computes what autograd computes on the plain model, and its inputs are reproducible."""

import predictor_synth as S
import pytest
import torch
import torch.nn.functional as F

from ddcf.errors import DDCFError
from ddcf.layout import Layout
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.data import load_training_data
from ddcf.predictor.fastpath import NoiseTable, StepInputs, fused_step_grads, prepare_batch
from ddcf.predictor.model import CorrectnessPredictor
from ddcf.predictor.train import make_optimizer, train_predictor


class FixedMask(torch.nn.Module):
    """Stands in for nn.Dropout so that autograd sees the very masks the fused step gets."""

    def __init__(self, keep):
        super().__init__()
        self.keep = keep

    def forward(self, x):
        return x if self.keep is None else x * self.keep


def _setup(M=5, d=24, h=3, B=64, dropout=0.5, alpha=0.3, dtype=torch.float32, seed=0, noise=True):
    torch.manual_seed(seed)
    model = CorrectnessPredictor(M, d, h, dropout=dropout, alpha=alpha).to(dtype)
    with torch.no_grad():  # move away from the init (W2 = 0 would hide most of the backward)
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    emb = torch.randn(40, d, dtype=dtype)
    q = torch.randint(0, 40, (B,))
    ids = torch.randint(0, M, (B,))
    y = torch.randint(0, 2, (B,))
    nm = torch.randn(B, d, dtype=dtype) * alpha if noise else None
    nq = torch.randn(B, d, dtype=dtype) * alpha if noise else None
    km = (torch.rand(B, h) > dropout).to(dtype) / (1 - dropout) if dropout > 0 else None
    kq = (torch.rand(B, h) > dropout).to(dtype) / (1 - dropout) if dropout > 0 else None
    return model, emb, q, ids, y, nm, nq, km, kq


def _autograd(model, emb, q, ids, y, nm, nq, km, kq):
    model.train()
    model.model_block.drop, model.question_block.drop = FixedMask(km), FixedMask(kq)
    noise = (nm, nq) if nm is not None else None
    loss = F.cross_entropy(model(ids, emb[q], noise), y)
    model.zero_grad(set_to_none=True)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def _fused(model, emb, q, ids, y, nm, nq, km, kq):
    model.zero_grad(set_to_none=True)
    batch = prepare_batch(emb, ids, q, y, model.num_models, nm, nq, km, kq, model.question_block.norm.eps)
    loss = fused_step_grads(model, batch)
    return loss, {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("dims", [dict(M=5, d=24, h=3), dict(M=8, d=8, h=1), dict(M=23, d=64, h=6, B=200)])
def test_fused_loss_and_gradients_match_autograd(dims):
    args = _setup(**dims)
    loss_ref, ref = _autograd(*args)
    loss, got = _fused(*args)
    assert torch.allclose(loss, loss_ref, rtol=1e-6, atol=1e-6)
    assert set(got) == set(ref) and len(ref) == 15  # every parameter gets a gradient
    for name in ref:
        scale = ref[name].abs().max()
        assert scale > 0, name
        assert (got[name] - ref[name]).abs().max() <= 2e-5 * scale, name


def test_fused_gradients_are_exact_in_float64():
    # In float64 rounding vanishes, so any algebra slip in the hand-derived backward shows up.
    args = _setup(dtype=torch.float64, M=6, d=16, h=2, B=50, seed=3)
    _, ref = _autograd(*args)
    _, got = _fused(*args)
    for name in ref:
        assert torch.allclose(got[name], ref[name], rtol=1e-10, atol=1e-13), name


def test_fused_without_noise_or_dropout_matches_autograd():
    args = _setup(dropout=0.0, alpha=0.0, noise=False, seed=1)
    loss_ref, ref = _autograd(*args)
    loss, got = _fused(*args)
    assert torch.allclose(loss, loss_ref, atol=1e-6)
    for name in ref:
        assert torch.allclose(got[name], ref[name], rtol=1e-5, atol=1e-7), name


def test_gradient_check_can_fail():
    # The comparison above is meaningful: a wrong mask (another dropout draw) changes the gradients.
    model, emb, q, ids, y, nm, nq, km, kq = _setup()
    _, ref = _autograd(model, emb, q, ids, y, nm, nq, km, kq)
    _, got = _fused(model, emb, q, ids, y, nm, nq, km.flip(0), kq)
    assert not torch.allclose(got["model_block.w1.weight"], ref["model_block.w1.weight"], atol=1e-6)


def test_adam_step_after_fused_equals_adam_step_after_autograd():
    model, emb, q, ids, y, nm, nq, km, kq = _setup(M=4, d=20, h=2)
    twin = CorrectnessPredictor(4, 20, 2, dropout=0.5, alpha=0.3)
    twin.load_state_dict(model.state_dict())
    cfg = PredictorConfig()
    opt_a, _ = make_optimizer(model, cfg, 10)
    opt_b, _ = make_optimizer(twin, cfg, 10)
    _autograd(model, emb, q, ids, y, nm, nq, km, kq)
    opt_a.step()
    _fused(twin, emb, q, ids, y, nm, nq, km, kq)
    assert all(p.grad.is_contiguous() for p in twin.parameters())  # the fused Adam needs dense grads
    opt_b.step()
    for (name, a), b in zip(model.state_dict().items(), twin.state_dict().values()):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6), name


# --------------------------------------------------------------------------- step inputs
def _inputs(noise="iid", prefetch=False, seed=5, alpha=0.02, dropout=0.8, n=300, d=32, h=3):
    torch.manual_seed(0)
    model = CorrectnessPredictor(4, d, h, dropout=dropout, alpha=alpha)
    emb = torch.randn(50, d)
    mid, q, y = torch.randint(0, 4, (n,)), torch.randint(0, 50, (n,)), torch.randint(0, 2, (n,))
    return model, emb, StepInputs(emb, mid, q, y, model, seed, noise=noise, batch_size=128, prefetch=prefetch)


@pytest.mark.parametrize("noise", ["iid", "table"])
def test_step_inputs_are_seeded_and_the_same_with_or_without_prefetch(noise):
    perm = torch.randperm(300)
    runs = []
    for prefetch in (False, True, True):
        _, _, src = _inputs(noise, prefetch)
        try:
            runs.append(list(src.batches(perm, 128, 300)))
        finally:
            src.close()
    assert [len(b) for b in runs[0]] == [128, 128, 44]
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            for f in ("noise_m", "xq", "keep_m", "keep_q", "model_ids", "labels"):
                assert torch.equal(getattr(a, f), getattr(b, f)), f


def test_step_inputs_draw_fresh_noise_and_dropout_masks_of_the_right_law():
    model, emb, src = _inputs(n=4000, d=64, h=40)
    b1, b2 = src.make(torch.arange(2000)), src.make(torch.arange(2000))
    assert not torch.equal(b1.noise_m, b2.noise_m) and not torch.equal(b1.keep_m, b1.keep_q)
    for z in (b1.noise_m, b1.xq - emb[src.q_rows[:2000]]):
        assert abs(z.std().item() - 0.02) < 5e-4 and abs(z.mean().item()) < 5e-4
    keep = torch.cat([b1.keep_m, b1.keep_q])
    values = torch.unique(keep).tolist()
    assert len(values) == 2 and values[0] == 0.0 and values[1] == pytest.approx(5.0)  # kept units x 1 / (1 - 0.8)
    assert abs((keep > 0).float().mean().item() - 0.2) < 0.01
    # The weight-free LayerNorm of the question input is computed right.
    ref = F.layer_norm(b1.xq, (64,))
    assert torch.allclose(b1.xhat_q, ref, atol=1e-5)
    assert torch.allclose(b1.em_init, b1.noise_m) and b1.em_init.data_ptr() != b1.noise_m.data_ptr()


def test_noise_table_slices_disjoint_rows_at_random_offsets():
    gen = torch.Generator().manual_seed(0)
    table = NoiseTable(alpha=0.1, max_rows=64, dim=16, generator=gen, device="cpu")
    assert table.size >= 1 << 24 and abs(table.table.std().item() - 0.1) < 1e-3
    a, b = table.rows(64, gen), table.rows(64, gen)
    assert a.shape == (64, 16) and not torch.equal(a, b)
    start = (a.data_ptr() - table.table.data_ptr()) // 4
    assert torch.equal(a.flatten(), table.table[start : start + 64 * 16])  # 64 consecutive, disjoint pieces
    # Wrap-around: the tail copies the head, so a slice near the end continues at the start.
    assert torch.equal(table.table[table.size :], table.table[: 64 * 16])


# --------------------------------------------------------------------------- training with each step kind
@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("fast") / "w")
    S.build(layout, n_models=8, n_questions=600, dim=8, rank=2, seed=1)
    return load_training_data(layout)


@pytest.mark.parametrize("step,noise", [("fused", "iid"), ("fused", "table"), ("autograd", "iid")])
def test_every_step_kind_learns_the_toy_matrix(toy, step, noise):
    cfg = PredictorConfig(arch="paper", epochs=12, batch_size=256, lr=2e-2, threads=1, device="cpu", step=step,
                          noise=noise, no_progress=True)
    result = train_predictor(toy, cfg)
    accs = [h["val_accuracy"] for h in result.history]
    assert max(accs) > 0.88, accs
    again = train_predictor(toy, cfg)
    assert [h["val_accuracy"] for h in again.history] == accs  # deterministic for a seed


def test_fused_and_autograd_training_agree_given_the_same_randomness(toy):
    # Without noise and dropout both step kinds run the very same optimisation,
    # so after a few epochs the weights differ only by float rounding.
    cfg = dict(arch="paper", epochs=3, batch_size=256, lr=1e-2, threads=1, device="cpu", alpha=0.0, dropout=0.0,
               no_progress=True)
    a = train_predictor(toy, PredictorConfig(step="fused", **cfg))
    b = train_predictor(toy, PredictorConfig(step="autograd", **cfg))
    for (name, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.allclose(x, y, rtol=1e-3, atol=1e-4), name


@pytest.mark.parametrize("cfg,match", [(dict(step="manual"), "--step"), (dict(noise="uniform"), "--noise"),
                                       (dict(step="autograd", noise="table"), "--noise table")])
def test_bad_step_options(cfg, match):
    with pytest.raises(DDCFError, match=match):
        PredictorConfig(**cfg).validate()


def test_auto_step_is_fused_on_cpu_and_autograd_on_cuda():
    assert PredictorConfig().step == "auto"
    assert PredictorConfig().resolved_step("cpu") == "fused"
    assert PredictorConfig().resolved_step("cuda:0") == "autograd"  # the fused path is untested on GPUs
    assert PredictorConfig(noise="table").resolved_step("cuda") == "fused"  # the table needs the fused step
    assert PredictorConfig(step="autograd").resolved_step("cpu") == "autograd"
    with pytest.raises(DDCFError):
        PredictorConfig(step="autograd", noise="table").validate()
    with pytest.raises(DDCFError):
        PredictorConfig(step="jit").validate()
