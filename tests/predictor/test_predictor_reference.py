"""``--arch paper`` against numbers produced by the released DDCF predictor.

How ``data/reference_predictor.json`` was made (outside ddcf; no released code is in this repository):
repo iNLP-Lab/DDCF at commit 434f9d5, its ``models.py`` (``TextMF``, ``MLPBlock``, which imports
``timm.models.layers.DropPath``) extracted with ``git archive HEAD models.py`` into a scratch directory and run
with torch 2.13.0+cpu and timm 1.0.31 (``pip install --no-deps timm`` in a scratch venv; torchvision, which timm
imports but DropPath does not use, was replaced by an import stub).  The script, on CPU:

* 3 models, 10 questions, d = 40 (hidden width int(0.1 * 40) = 4), 32 pairs; question embeddings
  ``torch.manual_seed(0); randn(10, 40)``; model and pair ids ``torch.randint`` after ``torch.manual_seed(1)``;
* ``eval_logits``: ``TextMF(Q, alpha=0.01, ...)`` built after ``torch.manual_seed(1)``, every parameter but
  ``Q.weight`` perturbed by ``0.3 * randn_like`` (fc2 is zero at init), ``net.eval()``,
  ``net(ids, qs, test_mode=True)``; ``state_dict`` is that network's weights;
* ``train_logits``: the same network, ``net.train()``, ``torch.manual_seed(123)``, ``net(ids, qs)``;
  ``tables_unchanged_by_inplace_noise``: ``P.weight`` and ``Q.weight`` compared before/after that call;
* ``steps``: a fresh ``TextMF`` built after ``torch.manual_seed(7)`` (``init_state_dict``), then the loop body of
  ``train_correctness_predictor.py`` (``Adam(lr, weight_decay)``, ``nn.CrossEntropyLoss()``,
  ``transformers.get_cosine_schedule_with_warmup(opt, int(warmup_ratio * T), T)``, ``zero_grad / forward /
  backward / step / scheduler.step``) over the listed fixed batches (3 epochs of one fixed order instead of the
  DataLoader's shuffling), after ``torch.manual_seed(99)``; ``losses`` and ``lrs`` per step and the final
  ``test_mode=True`` logits of every pair.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.paper.model import CorrectnessPredictor
from ddcf.predictor.paper.train import make_optimizer, train_step

REF = json.loads((Path(__file__).parent / "data" / "reference_predictor.json").read_text())
D = REF["dims"]
Q = torch.tensor(REF["question_embeddings"])
#: released parameter names -> ours
RENAME = (("P.", "model_embedding."), ("model_proj.", "model_block."), ("text_proj.", "question_block."),
          ("classifier.", "head."))
SUB = ((".fc1.", ".w1."), (".fc2.", ".w2."))


def ours(state: dict) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        for a, b in RENAME:
            if key.startswith(a):
                key = b + key[len(a):]
        for a, b in SUB:
            key = key.replace(a, b)
        out[key] = torch.tensor(value)
    return out


def loaded(state: dict) -> CorrectnessPredictor:
    m = CorrectnessPredictor(D["M"], D["D"], hidden_dim=4)  # defaults: dropout 0.8 twice, drop-path 0.2, alpha 0.01
    m.load_state_dict(ours(state), strict=True)
    return m


IDS, QS = torch.tensor(REF["model_ids"]), torch.tensor(REF["prompt_ids"])


def test_eval_logits_and_probability_equal_the_released_model():
    m = loaded(REF["state_dict"]).eval()
    with torch.no_grad():
        logits = m(IDS, Q[QS])
    assert torch.allclose(logits, torch.tensor(REF["eval_logits"]), atol=1e-6, rtol=0)
    # the released difficulty script's P(correct): softmax(logits)[:, 1], no temperature
    assert np.allclose(m.predict_proba(IDS, Q[QS]).numpy(), REF["eval_p_correct"], atol=1e-6)


def test_training_mode_output_is_the_released_one_for_the_same_rng_state():
    """Noise, both dropouts and drop-path are drawn from the global RNG in the released order: same numbers."""
    m = loaded(REF["state_dict"]).train()
    torch.manual_seed(REF["train_seed"])
    with torch.no_grad():
        logits = m(IDS, Q[QS])
    assert torch.allclose(logits, torch.tensor(REF["train_logits"]), atol=1e-6, rtol=0)
    # and it is not the eval output: training mode really does something here
    assert not torch.allclose(logits, torch.tensor(REF["eval_logits"]), atol=1e-3)


def test_old_block_does_not_reproduce_the_released_training_output():
    """Guard that the comparison above can fail: ddcf's earlier block (no second dropout, no drop-path) differs."""
    m = CorrectnessPredictor(D["M"], D["D"], hidden_dim=4, out_dropout=0.0, drop_path=0.0)
    m.load_state_dict(ours(REF["state_dict"]))
    torch.manual_seed(REF["train_seed"])
    with torch.no_grad():
        assert not torch.allclose(m.train()(IDS, Q[QS]), torch.tensor(REF["train_logits"]), atol=1e-3)


def test_inplace_noise_of_the_released_code_leaves_the_tables_alone_and_so_do_we():
    assert REF["tables_unchanged_by_inplace_noise"] is True
    m = loaded(REF["state_dict"]).train()
    q = Q.clone()
    table = m.model_embedding.weight.detach().clone()
    m(IDS, q[QS])
    assert torch.equal(q, Q) and torch.equal(m.model_embedding.weight, table)


@pytest.mark.parametrize("fused_adam", [True, False])
def test_training_steps_give_the_released_loss_curve(monkeypatch, fused_adam):
    """Same init, same batches, same global RNG seed: our train_step, optimizer and 'released' schedule give the
    released loop's losses, learning rates and final weights (to float rounding; fused Adam rounds differently)."""
    s = REF["steps"]
    if not fused_adam:
        real = torch.optim.Adam
        monkeypatch.setattr(torch.optim, "Adam", lambda params, fused=None, **kw: real(params, **kw))
    m = loaded(s["init_state_dict"])
    cfg = PredictorConfig(arch="paper", lr=s["lr"], weight_decay=s["weight_decay"], warmup_ratio=s["warmup_ratio"],
                          batch_size=s["batch_size"])
    opt, sched = make_optimizer(m, cfg, len(s["batches"]))
    am = torch.arange(D["M"]).repeat_interleave(D["N"])
    aq = torch.arange(D["N"]).repeat(D["M"])
    y = torch.tensor(s["labels"])
    m.train()
    torch.manual_seed(s["loop_seed"])
    losses, lrs = [], []
    for b in s["batches"]:
        b = torch.tensor(b)
        lrs.append(opt.param_groups[0]["lr"])
        losses.append(float(train_step(m, opt, sched, am[b], Q[aq[b]], y[b])))
    assert np.allclose(lrs, s["lrs"], rtol=1e-12, atol=0)
    assert np.allclose(losses, s["losses"], atol=1e-5, rtol=0)
    with torch.no_grad():
        final = m.eval()(am, Q[aq])
    assert torch.allclose(final, torch.tensor(s["final_eval_logits"]), atol=1e-4, rtol=0)


def test_shifted_schedule_does_not_give_the_released_learning_rates():
    s = REF["steps"]
    m = loaded(s["init_state_dict"])
    opt, sched = make_optimizer(m, PredictorConfig(arch="paper", lr=s["lr"], warmup_ratio=s["warmup_ratio"],
                                                   schedule="shifted"), len(s["batches"]))
    lrs = []
    for _ in s["batches"]:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] > 0 and not np.allclose(lrs, s["lrs"])
