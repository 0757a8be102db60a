"""Training of the default predictor (``--arch factor``, ``ddcf.predictor.factor.model``).

The unit of a step is a batch of *questions*: each question's row holds the answers of every model
(0/1, masked where a model did not answer), so one forward pass scores all models and the loss is the
mean binary cross-entropy over the observed pairs.  Members are trained one after another with seeds
``seed, seed + 1, ...``; each keeps the epoch with the lowest validation log loss and stops after
``patience`` epochs without improvement.  Deterministic for a seed on CPU.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from ddcf.errors import DDCFError
from ddcf.predictor.data import TrainingData
from ddcf.predictor.factor.model import FactorMember, FactorPredictor
from ddcf.predictor.features import TEXT_FEATURES
from ddcf.predictor.metrics import log_loss
from ddcf.runtime import progress


def dense_targets(pairs, num_models: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(question rows, Y, mask): one row per distinct question of ``pairs``; Y and mask are (n_q, M) float32."""
    rows, inv = np.unique(pairs.q_row, return_inverse=True)
    y = np.zeros((len(rows), num_models), np.float32)
    mask = np.zeros_like(y)
    y[inv, pairs.model_id] = pairs.correct
    mask[inv, pairs.model_id] = 1.0
    return rows, y, mask


def _member_logits(member: FactorMember, x: torch.Tensor, model_ids: torch.Tensor, q_index: torch.Tensor):
    member.eval()
    with torch.no_grad():
        return member(x)[q_index, model_ids]


def train_member(member: FactorMember, x_tr, y_tr, m_tr, x_va, va_mid, va_q, va_y, config, seed: int,
                 bar=None) -> tuple[list[dict], int]:
    """Train one member in place; returns its per-epoch history and best epoch (weights restored to it)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(member.parameters(), lr=config.factor_lr, weight_decay=config.factor_weight_decay)
    n = x_tr.shape[0]
    best, best_epoch, best_state, history = math.inf, 0, None, []
    for epoch in range(1, config.max_epochs + 1):
        t0 = time.perf_counter()
        member.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for idx in perm.split(config.question_batch):
            mask = m_tr[idx]
            loss = (F.binary_cross_entropy_with_logits(member(x_tr[idx]), y_tr[idx], reduction="none") * mask).sum()
            loss = loss / mask.sum().clamp_min(1.0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        z = _member_logits(member, x_va, va_mid, va_q)
        val_loss = log_loss(va_y, torch.sigmoid(z).double().numpy())
        improved = val_loss < best
        if improved:
            best, best_epoch = val_loss, epoch
            best_state = {k: v.detach().clone() for k, v in member.state_dict().items()}
        history.append(dict(epoch=epoch, train_loss=total / n, val_loss=val_loss, best=improved,
                            seconds=time.perf_counter() - t0))
        if bar is not None:
            bar.set_postfix_str(f"epoch {epoch}, val_loss={val_loss:.4f}")
        if epoch - best_epoch >= config.patience:
            break
    if best_state is not None:
        member.load_state_dict(best_state)
    member.eval()
    return history, best_epoch


def train_factor(data: TrainingData, config, device: str = "cpu"):
    """Train every member of a FactorPredictor; returns (model, histories, best epochs, seconds)."""
    num_models, dim = len(data.models), data.embeddings.shape[1]
    use_text = config.text_features == "on" or (config.text_features == "auto" and data.text_features is not None)
    if use_text and data.text_features is None:
        raise DDCFError("--text_features on, but the text of some seed question is unknown (the statistics are "
                        "computed from DDCF_data/seed/questions.parquet).",
                        "provide the seed questions table (infer.py writes it), or pass --text_features off/auto.")
    n_text = len(TEXT_FEATURES) if use_text else 0
    torch.manual_seed(config.seed)
    model = FactorPredictor(num_models, dim, config.factor_hidden, config.factor_rank, config.ensemble,
                            config.input_dropout, config.factor_dropout, n_text=n_text).to(device)
    rows, y, mask = dense_targets(data.train, num_models)
    raw = torch.from_numpy(data.model_inputs(model)).to(device)
    model.fit_text_scaling(raw[torch.from_numpy(rows).to(device), dim:])
    emb = model.prepare(raw)  # what the members' encoders read
    x_tr = emb[torch.from_numpy(rows).to(device)]
    y_tr, m_tr = torch.from_numpy(y).to(device), torch.from_numpy(mask).to(device)
    va_rows, va_q = np.unique(data.val.q_row, return_inverse=True)
    x_va = emb[torch.from_numpy(va_rows).to(device)]
    va_mid = torch.from_numpy(data.val.model_id).to(device)
    va_qi = torch.from_numpy(va_q.astype(np.int64)).to(device)
    histories, best_epochs = [], []
    t0 = time.perf_counter()
    bar = progress(range(config.ensemble), desc="training predictor", unit="member", enabled=config.progress)
    for i in bar:
        h, b = train_member(model.members[i], x_tr, y_tr, m_tr, x_va, va_mid, va_qi, data.val.correct, config,
                            config.seed + i, bar)
        histories.append(h)
        best_epochs.append(b)
    model.eval()
    return model, histories, best_epochs, time.perf_counter() - t0
