"""An IRT baseline that works for unseen questions: a multidimensional 2PL with question parameters from the embedding.

    P(correct | m, q) = sigmoid(theta_m . a(q) + beta_m - b(q)),   a(q) = A e_q + a0,   b(q) = w . e_q + c

``theta_m`` (D numbers per model) is the model's ability along the question's
discrimination ``a(q)``; ``beta_m`` a per-model intercept (its overall strength,
unpenalised; ``model_intercept=False`` drops it); the question's discrimination
and difficulty ``b(q)`` are linear in the question embedding ``e_q``, so a
question never seen in training still gets its parameters.  Fitted by full-batch
L-BFGS in torch on the training pairs with one L2 penalty on ``A``, ``a0``, ``w``
and ``theta``, whose weight is picked on validation log loss.

Embeddings are L2-normalised, centred on the training questions and scaled to
unit mean per-dimension variance, so one penalty grid suits any embedder.  For
D = 1 the sign is fixed so that the mean discrimination is positive: a larger
theta then means a stronger model.  (For D > 1 theta is determined only up to
a rotation; its predictions are not.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ddcf.artifacts.embeddings import unit_rows
from ddcf.predictor.metrics import log_loss
from ddcf.runtime import usable_cores

L2_GRID = (1e-3, 1e-2, 3e-2, 1e-1)


@dataclass
class IRTModel:
    """Fitted parameters (numpy, float64); ``predict`` needs no torch."""

    A: np.ndarray  # (D, dim)
    a0: np.ndarray  # (D,)
    w: np.ndarray  # (dim,)
    c: float
    theta: np.ndarray  # (num_models, D)
    beta: np.ndarray  # (num_models,) per-model intercept (zeros when fitted without one)
    mu: np.ndarray  # (dim,) centre of the training question embeddings
    scale: float  # their RMS per-dimension spread
    l2: float  # the chosen penalty
    val_log_loss: dict[float, float] = field(default_factory=dict)  # per penalty of the grid

    def question_params(self, emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)``: discrimination (n, D) and difficulty (n,) of each row of ``emb``."""
        z = _standardise(emb, self.mu, self.scale)
        return z @ self.A.T + self.a0, z @ self.w + self.c

    def logits(self, model_ids, q_rows, emb: np.ndarray) -> np.ndarray:
        a, b = self.question_params(emb)
        q, m = np.asarray(q_rows, np.int64), np.asarray(model_ids, np.int64)
        return np.einsum("nd,nd->n", self.theta[m], a[q]) + self.beta[m] - b[q]

    def predict(self, model_ids, q_rows, emb: np.ndarray) -> np.ndarray:
        """P(correct) float64 for each (model id, row of ``emb``) pair."""
        return 1.0 / (1.0 + np.exp(-self.logits(model_ids, q_rows, emb)))


def _standardise(emb: np.ndarray, mu: np.ndarray, scale: float) -> np.ndarray:
    return (unit_rows(emb, floor=1e-12) - mu) / scale


def fit_irt(
    train_mid,
    train_q,
    train_y,
    train_emb: np.ndarray,
    val_mid,
    val_q,
    val_y,
    val_emb: np.ndarray,
    num_models: int,
    dims: int = 2,
    seed: int = 0,
    l2_grid=L2_GRID,
    max_iter: int = 200,
    threads: int | None = None,
    model_intercept: bool = True,
    tick: Callable[[int], None] | None = None,
) -> IRTModel:
    """Fit on the training pairs for each penalty of ``l2_grid``; keep the one with the lowest val log loss.

    ``train_q`` indexes rows of ``train_emb``, ``val_q`` rows of ``val_emb``.  Each
    fit starts from the same initialisation drawn from ``seed`` (deterministic).
    Ties on val log loss go to the stronger penalty.  A model without training
    rows keeps theta = 0: it gets the question's difficulty only.  ``threads``
    (torch CPU threads) defaults to 1 for problems up to ~10k questions x 384
    dims, whose small matmuls only lose time to threading (10x on a busy
    machine), else to the usable cores.  ``tick`` (progress) is called once per L-BFGS evaluation of the
    loss, at most ``1.25 * max_iter`` times per penalty of the grid.
    """
    import torch

    if dims < 1:
        raise ValueError(f"fit_irt needs dims >= 1, got {dims}")
    if len(val_y) == 0:
        raise ValueError("fit_irt picks its penalty on validation rows, but the validation split is empty")
    if len(train_y) == 0:
        raise ValueError("fit_irt has no training rows to fit")
    train_mid, train_q = np.asarray(train_mid, np.int64), np.asarray(train_q, np.int64)
    x = unit_rows(train_emb, floor=1e-12)
    mu = x.mean(axis=0)
    scale = float(np.sqrt(np.mean((x - mu) ** 2))) or 1.0
    z = torch.from_numpy((x - mu) / scale)
    dim = z.shape[1]
    # Pairs as dense (question x model) count and success matrices: the loss is then two matmuls and an
    # elementwise sum, with no scatter in the backward pass (10x faster than gathering per pair), and it
    # equals the mean BCE over pairs, repeated pairs included.
    n_pairs = np.zeros((x.shape[0], num_models))
    n_correct = np.zeros((x.shape[0], num_models))
    np.add.at(n_pairs, (train_q, train_mid), 1.0)
    np.add.at(n_correct, (train_q, train_mid), np.asarray(train_y, np.float64))
    n_t, s_t = torch.from_numpy(n_pairs), torch.from_numpy(n_correct)
    f_t = n_t - s_t
    rate = float(np.clip(np.mean(train_y), 1e-3, 1 - 1e-3))

    def init() -> dict[str, torch.Tensor]:
        # theta starts at 0 and A small and random: that breaks the theta/A symmetry without favouring any
        # model.  Every penalty starts from this same point: warm-starting from a strong penalty's fit starts
        # near the saddle theta = A = 0, where L-BFGS stays.
        gen = torch.Generator().manual_seed(seed)
        return dict(
            A=(0.01 * torch.randn(dims, dim, generator=gen, dtype=torch.float64)).requires_grad_(),
            a0=torch.zeros(dims, dtype=torch.float64, requires_grad=True),
            w=torch.zeros(dim, dtype=torch.float64, requires_grad=True),
            c=torch.tensor(-np.log(rate / (1 - rate)), dtype=torch.float64, requires_grad=True),
            theta=torch.zeros(num_models, dims, dtype=torch.float64, requires_grad=True),
            beta=torch.zeros(num_models, dtype=torch.float64, requires_grad=model_intercept),
        )

    def data_loss(params: dict[str, torch.Tensor]) -> torch.Tensor:
        a = z @ params["A"].T + params["a0"]
        b = z @ params["w"] + params["c"]
        logit = a @ params["theta"].T + params["beta"] - b[:, None]  # (questions, models)
        softplus = torch.nn.functional.softplus
        return ((s_t * softplus(-logit)).sum() + (f_t * softplus(logit)).sum()) / len(train_y)

    if threads is None:
        threads = 1 if z.numel() <= 4_000_000 else usable_cores()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fits = [_fit_one(params_init=init(), loss_fn=data_loss, l2=l2, max_iter=max_iter, tick=tick)
                for l2 in sorted({float(v) for v in l2_grid})]
    finally:
        torch.set_num_threads(old_threads)
    scored = [(log_loss(val_y, _to_model(f, mu, scale, l2).predict(val_mid, val_q, val_emb)), l2, f)
              for l2, f in fits]
    losses = {l2: loss for loss, l2, _ in scored}
    _, best_l2, best = min(scored, key=lambda f: (f[0], -f[1]))  # ties: the stronger penalty
    model = _to_model(best, mu, scale, best_l2)
    model.val_log_loss = losses
    return model


def _fit_one(params_init, loss_fn, l2: float, max_iter: int, tick=None):
    """Full-batch L-BFGS from ``params_init`` on ``loss_fn(params) + l2 * |A, a0, w, theta|^2``."""
    import torch

    params = params_init
    opt = torch.optim.LBFGS([v for v in params.values() if v.requires_grad], lr=1.0, max_iter=max_iter, history_size=20,
                            tolerance_grad=1e-7, tolerance_change=1e-10, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        pen = sum((params[k] ** 2).sum() for k in ("A", "a0", "w", "theta"))
        loss = loss_fn(params) + l2 * pen
        loss.backward()
        if tick is not None:
            tick(1)
        return loss

    opt.step(closure)
    return l2, {k: v.detach().numpy().copy() for k, v in params.items()}


def _to_model(p: dict[str, np.ndarray], mu: np.ndarray, scale: float, l2: float) -> IRTModel:
    A, a0, theta = p["A"].copy(), p["a0"].copy(), p["theta"].copy()
    if A.shape[0] == 1:
        # theta . a(q) is unchanged by flipping both signs; fix the one where the mean discrimination
        # over the training questions (a0, since they are centred) is positive.
        if a0[0] < 0:
            A, a0, theta = -A, -a0, -theta
    return IRTModel(A=A, a0=a0, w=p["w"].copy(), c=float(p["c"]), theta=theta, beta=p["beta"].copy(), mu=mu,
                    scale=scale, l2=l2)
