"""A hand-derived forward+backward of one training step of the correctness predictor.

Same model, same loss, same gradients as autograd on ``CorrectnessPredictor``
(``tests/predictor/test_predictor_fastpath.py`` checks them to float32 tolerance
given the same noise and dropout masks), but arranged so that a step touches the
big ``batch x d`` arrays as few times as possible and skips work autograd cannot
know is unnecessary.  Per step, with B pairs, d dims, h = 0.1 d hidden units and
M models:

* **Question side, LayerNorm backward.**  The question embeddings are frozen, so
  only the LayerNorm's gain/bias need gradients.  Both follow from the h x d
  matrix ``G = da^T @ xhat`` that the first Linear's weight gradient needs anyway:
  ``dW1 = G * gain + outer(db1, bias)``, ``dgain = sum_k W1 * G``, ``dbias = db1 @ W1``.
  That drops one B x h x d matmul (``du = da @ W1``) and the whole LayerNorm backward.
* **Model side, never materialise x or its LayerNorm.**  ``x = E[id] + noise``
  with only M distinct rows of E.  The row statistics and the first Linear come
  from one matmul of the noise with ``[W1*gain; E - mean(E); 1]`` plus per-model
  terms; the LayerNorm backward into the embedding table is summed per model
  *before* it is expanded to d dims (M x d instead of B x d work), using
  ``xhat @ (W1*gain)^T = a - W1 @ bias - b1`` which the forward already holds.
* **Head.**  With two classes, ``d loss / d logits = (-g, g)`` with
  ``g = (p1 - y) / B``, so ``d loss / d(E_m * E_q) = g w`` with ``w = W_head[1] - W_head[0]``.
  The gradients of the second Linear of each block are then ``w * (E_other^T @ (g r))``
  and ``g * (E_other @ (w * W2))``: the B x d products ``dE_m``/``dE_q`` are never formed.

Everything is plain torch ops (CPU or CUDA); no autograd graph is built.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F

from ddcf.predictor.model import CorrectnessPredictor

NOISE_KINDS = ("iid", "table")
# Size of the pre-drawn noise table of ``--noise table`` (floats; 64 MiB), unless 8 batches need more.
NOISE_TABLE_FLOATS = 1 << 24


# --------------------------------------------------------------------------- per-step inputs
@dataclass
class FusedBatch:
    """Everything one step needs that does not depend on the weights (so it can be made on another core)."""

    model_ids: torch.Tensor  # (B,) int64
    onehot: torch.Tensor  # (B, M) one-hot of model_ids
    labels: torch.Tensor  # (B,) int64 0/1
    xq: torch.Tensor  # (B, d) question embedding + noise: the question block's input (the step adds to it)
    xhat_q: torch.Tensor  # (B, d) its LayerNorm without gain/bias
    rstd_q: torch.Tensor  # (B,) 1 / std of each row of xq
    noise_m: torch.Tensor  # (B, d) model-side noise (zeros when alpha = 0)
    em_init: torch.Tensor  # (B, d) a copy of noise_m that the step turns into E_m in place
    nbar_m: torch.Tensor  # (B,) row means of noise_m
    nsq_m: torch.Tensor  # (B,) squared norms of the centred rows of noise_m
    keep_m: torch.Tensor | None  # (B, h) dropout keep masks divided by (1 - p); None: no dropout
    keep_q: torch.Tensor | None

    def __len__(self) -> int:
        return self.labels.shape[0]


def prepare_batch(
    emb: torch.Tensor,
    model_ids: torch.Tensor,
    q_rows: torch.Tensor,
    labels: torch.Tensor,
    num_models: int,
    noise_m: torch.Tensor | None,
    noise_q: torch.Tensor | None,
    keep_m: torch.Tensor | None,
    keep_q: torch.Tensor | None,
    eps: float,
) -> FusedBatch:
    """Gather the batch's question rows, add the noise, and take the weight-free LayerNorm statistics."""
    B, d = q_rows.shape[0], emb.shape[1]
    xq = emb.index_select(0, q_rows)
    if noise_q is not None:
        xq += noise_q
    xhat, _, rstd = torch.native_layer_norm(xq, [d], None, None, eps)
    if noise_m is None:
        noise_m = torch.zeros(B, d, device=emb.device, dtype=emb.dtype)
    nbar = noise_m.mean(1)
    nsq = torch.linalg.vector_norm(noise_m, dim=1).square_() - d * nbar * nbar
    onehot = torch.zeros(B, num_models, device=emb.device, dtype=emb.dtype).scatter_(1, model_ids[:, None], 1.0)
    # em_init: a private copy made here, on the worker core, instead of inside the step's addmm.
    return FusedBatch(model_ids, onehot, labels, xq, xhat, rstd.view(B), noise_m, noise_m.clone(), nbar, nsq,
                      keep_m, keep_q)


class NoiseTable:
    """``--noise table``: one pre-drawn table of N(0, alpha^2) floats; each step slices it at a random offset.

    The rows of one step are disjoint pieces of the table, so within a step they are
    exactly i.i.d. Gaussian; across steps pieces are reused at fresh random offsets
    (the noise-table trick of evolution strategies).  It replaces ~2 x B x d normal
    draws per step by one random integer.  An approximation of fresh noise, so it is
    opt-in; --noise iid (default) draws fresh samples every step.
    """

    def __init__(self, alpha: float, max_rows: int, dim: int, generator: torch.Generator, device: str | torch.device):
        span = max_rows * dim
        self.size = max(NOISE_TABLE_FLOATS, 8 * span)
        table = torch.empty(self.size + span, device=device).normal_(0.0, alpha, generator=generator)
        table[self.size :] = table[:span]  # wrap around: a slice starting near the end continues at the start
        self.table, self.dim = table, dim

    def rows(self, n: int, generator: torch.Generator) -> torch.Tensor:
        start = int(torch.randint(0, self.size, (1,), generator=generator, device=generator.device))
        return self.table[start : start + n * self.dim].view(n, self.dim)


class StepInputs:
    """Makes the FusedBatch of every step: random noise and dropout masks plus the batch gather.

    All randomness comes from one generator consumed in step order, so a seed fixes
    the run whether batches are made inline or on a worker thread (``prefetch``): on
    CPU a spare core then builds batch i+1 while the main thread trains on batch i.
    """

    def __init__(
        self,
        emb: torch.Tensor,
        model_ids: torch.Tensor,
        q_rows: torch.Tensor,
        labels: torch.Tensor,
        model: CorrectnessPredictor,
        seed: int,
        noise: str = "iid",
        batch_size: int = 1028,
        prefetch: bool = False,
    ):
        if noise not in NOISE_KINDS:
            raise ValueError(f"noise must be one of {NOISE_KINDS}, not {noise!r}")
        self.emb, self.model_ids, self.q_rows, self.labels = emb, model_ids, q_rows, labels
        self.num_models, self.dim, self.hidden = model.num_models, model.dim, model.hidden_dim
        self.alpha, self.p = model.alpha, model.dropout
        self.eps = model.question_block.norm.eps
        self.gen = torch.Generator(device=emb.device).manual_seed(seed)
        self.table = (
            NoiseTable(self.alpha, batch_size, self.dim, self.gen, emb.device)
            if noise == "table" and self.alpha > 0 else None
        )
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddcf-batch") if prefetch else None

    def _noise(self, n: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if self.alpha <= 0:
            return None, None
        if self.table is not None:
            return self.table.rows(n, self.gen), self.table.rows(n, self.gen)
        z = torch.empty(2, n, self.dim, device=self.emb.device).normal_(0.0, self.alpha, generator=self.gen)
        return z[0], z[1]

    def _keep(self, n: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if self.p <= 0:
            return None, None
        # Same mask as nn.Dropout: Bernoulli(1 - p) scaled by 1 / (1 - p).
        k = torch.empty(2, n, self.hidden, device=self.emb.device).bernoulli_(1.0 - self.p, generator=self.gen)
        k.div_(1.0 - self.p)
        return k[0], k[1]

    def make(self, idx: torch.Tensor) -> FusedBatch:
        n = idx.shape[0]
        nm, nq = self._noise(n)
        km, kq = self._keep(n)
        return prepare_batch(self.emb, self.model_ids[idx], self.q_rows[idx], self.labels[idx], self.num_models,
                             nm, nq, km, kq, self.eps)

    def batches(self, perm: torch.Tensor, batch_size: int, stop: int) -> Iterator[FusedBatch]:
        """Batches ``perm[s : s + batch_size]`` for s < stop, one ahead on the worker when prefetching."""
        slices = [perm[s : s + batch_size] for s in range(0, stop, batch_size)]
        if self.pool is None:
            for idx in slices:
                yield self.make(idx)
            return
        yield from one_ahead(self.pool, self.make, slices)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def one_ahead(pool, fn, items):
    """Yield ``fn(item)`` for each item, computing the next one on ``pool`` while the caller works."""
    pending = pool.submit(fn, items[0]) if items else None
    for i in range(len(items)):
        current = pending.result()
        if i + 1 < len(items):
            pending = pool.submit(fn, items[i + 1])
        yield current


# --------------------------------------------------------------------------- the step
def _block_params(block):
    n = block.norm
    return n.weight, n.bias, n.eps, block.w1.weight, block.w1.bias, block.w2.weight, block.w2.bias


def _relu_dropout(a: torch.Tensor, keep: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``r = dropout(relu(a))`` given a pre-scaled keep mask; also ``dr/da`` (that mask, zero where a <= 0)."""
    dmask = (a > 0).to(a.dtype)
    if keep is not None:
        dmask.mul_(keep)
    return a * dmask, dmask


@torch.no_grad()
def fused_step_grads(model: CorrectnessPredictor, b: FusedBatch) -> torch.Tensor:
    """Mean cross-entropy of one batch in training mode; sets every parameter's ``.grad``.

    Consumes the batch: ``b.xq`` and ``b.em_init`` are overwritten (with E_q and E_m).

    Returns the loss as a 0-dim tensor (no host sync).  Gradients equal those of
    ``F.cross_entropy(model(ids, emb[rows], (noise_m, noise_q)), labels).backward()``
    with the same dropout masks, up to float rounding.
    """
    E = model.model_embedding.weight
    M, d = E.shape
    h = model.hidden_dim
    B = len(b)
    ids, onehot, n_m = b.model_ids, b.onehot, b.noise_m

    # ------------------------------------------------------------------ model side, forward
    gam_m, bet_m, eps_m, W1m, b1m, W2m, b2m = _block_params(model.model_block)
    Wg_m = W1m * gam_m  # (h, d): first Linear with the LayerNorm gain folded in
    sWg_m = Wg_m.sum(1)
    Ec = E - E.mean(1, keepdim=True)  # x - mean(x) = Ec[id] + noise - mean(noise)
    K = n_m @ torch.cat([Wg_m, Ec]).T  # (B, h + M): every projection of the noise in one pass
    per_row = torch.cat([Ec @ Wg_m.T, (Ec * Ec).sum(1, keepdim=True)], dim=1).index_select(0, ids)
    n_ec = (K[:, h:] * onehot).sum(1)  # noise . Ec[id]
    rstd_m = ((per_row[:, h] + 2.0 * n_ec + b.nsq_m) / d + eps_m).rsqrt_()
    xw = per_row[:, :h].add_(K[:, :h]).addr_(b.nbar_m, sWg_m, alpha=-1.0).mul_(rstd_m[:, None])  # xhat @ Wg^T
    a_m = xw + torch.addmv(b1m, W1m, bet_m)
    r_m, dmask_m = _relu_dropout(a_m, b.keep_m)
    # x + W2 r + b2 with x = E[id] + noise, the gather folded into the matmul via the one-hot columns.
    Em = b.em_init.addmm_(torch.cat([r_m, onehot], dim=1), torch.cat([W2m.T, E + b2m]))

    # ------------------------------------------------------------------ question side, forward
    gam_q, bet_q, _, W1q, b1q, W2q, b2q = _block_params(model.question_block)
    a_q = torch.addmm(torch.addmv(b1q, W1q, bet_q), b.xhat_q, (W1q * gam_q).T)
    r_q, dmask_q = _relu_dropout(a_q, b.keep_q)
    ones = torch.ones(B, 1, device=E.device, dtype=E.dtype)
    Eq = b.xq.addmm_(torch.cat([r_q, ones], dim=1), torch.cat([W2q.T, b2q[None]]))  # x + W2 r + b2, in place

    # ------------------------------------------------------------------ head and loss
    Wh, bh = model.head.weight, model.head.bias
    w = Wh[1] - Wh[0]
    P = Em * Eq
    z = torch.addmv(bh[1] - bh[0], P, w)  # logit_1 - logit_0: 2-way cross-entropy is logistic loss on z
    y = b.labels.to(z.dtype)
    loss = F.binary_cross_entropy_with_logits(z, y)
    g = (torch.sigmoid(z) - y) / B  # d loss / d logit_1 = - d loss / d logit_0
    gP = g @ P
    sg = g.sum()
    grads = {model.head.weight: torch.stack([-gP, gP]), model.head.bias: torch.stack([-sg, sg])}
    gcol = g[:, None]

    # ------------------------------------------------------------------ model side, backward
    # One matmul over E_q gives dW2_m, db2_m and the per-model residual gradient of the table.
    GT = Eq.T @ torch.cat([gcol * r_m, gcol, onehot * gcol], dim=1)  # (d, h + 1 + M)
    grads[W2m] = w[:, None] * GT[:, :h]
    grads[b2m] = w * GT[:, h]
    dE = (w[:, None] * GT[:, h + 1 :]).T  # residual path: per model, the sum of its pairs' dE_m
    da_m = (Eq @ (w[:, None] * W2m)).mul_(gcol).mul_(dmask_m)
    db1m = da_m.sum(0)
    D = da_m * rstd_m[:, None]
    c1 = (da_m @ sWg_m) / d  # mean_j of dxhat_ij  (dxhat = da @ Wg)
    wgt = rstd_m * rstd_m * (da_m * xw).sum(1) / d  # rstd^2 * mean_j of dxhat_ij * xhat_ij
    NT = n_m.T @ torch.cat([D, onehot * wgt[:, None]], dim=1)  # (d, h + M)
    Dm = onehot.T @ D  # (M, h): per model, the sum of rstd * da
    G = NT[:, :h].T + Dm.T @ Ec
    G.sub_((b.nbar_m @ D)[:, None])  # G = da^T @ xhat
    grads[W1m] = G * gam_m + torch.outer(db1m, bet_m)
    grads[b1m] = db1m
    grads[gam_m] = (W1m * G).sum(0)
    grads[bet_m] = db1m @ W1m
    # LayerNorm backward into the table, summed per model before it is expanded to d dims:
    # sum_i rstd_i (dxhat_i - mean(dxhat_i) - xhat_i mean(dxhat_i xhat_i)),
    # with xhat_i = rstd_i (Ec[id] + noise_i - nbar_i).
    per_model = onehot.T @ torch.stack([rstd_m * c1, wgt, wgt * b.nbar_m], dim=1)  # (M, 3)
    dE += Dm @ Wg_m
    dE -= per_model[:, 0:1] - per_model[:, 2:3]
    dE -= per_model[:, 1:2] * Ec + NT[:, h:].T
    grads[E] = dE

    # ------------------------------------------------------------------ question side, backward
    GT = Em.T @ torch.cat([gcol * r_q, gcol], dim=1)
    grads[W2q] = w[:, None] * GT[:, :h]
    grads[b2q] = w * GT[:, h]
    da_q = (Em @ (w[:, None] * W2q)).mul_(gcol).mul_(dmask_q)
    db1q = da_q.sum(0)
    G = da_q.T @ b.xhat_q  # frozen input: the LayerNorm needs only its gain/bias gradients, both from G
    grads[W1q] = G * gam_q + torch.outer(db1q, bet_q)
    grads[b1q] = db1q
    grads[gam_q] = (W1q * G).sum(0)
    grads[bet_q] = db1q @ W1q

    for p, gr in grads.items():
        # Several results are transposed views; optimizers (the fused Adam in particular) expect
        # a gradient laid out like its parameter.
        p.grad = gr.contiguous()
    return loss
