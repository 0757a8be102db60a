"""A new model's row of a trained predictor, fitted from a few answers with everything else frozen.

Both architectures score a pair as ``logit = f(q) . d_m + b_m`` with ``f = encode_questions(x)`` and the
model side ``(d_m, b_m) = directions(m)`` (``ddcf.predictor.factor.model`` / ``ddcf.predictor.paper.model``);
P(correct) = ``sigmoid(logit / T)`` with the predictor's calibration temperature T.  What a new model may change
is its *row*: for the factor arch its ``(u, c)`` in every member (the ensemble's ``(d, b)``); for the paper arch
its row ``e`` of ``model_embedding`` (``d = model_block(e) * (w_1 - w_0)``).

The prior (why a hundred answers are enough): the known models' rows are a sample of what a model's row looks
like.  With their mean ``mu`` and the principal directions ``V`` / spreads ``s`` of their deviations
(``theta - mu = V diag(s) a``, ``s`` = singular values / sqrt(M - 1)), the new row is
``theta(a) = mu + V diag(s) a`` with ``a ~ N(0, I / prior_strength)``: strength 1 is "one more model drawn like
the known ones".  The fit is the MAP of ``a`` (L-BFGS, float64): at most M - 1 numbers, whatever the width of the
row, and convex for the factor arch.  A probe set with one class only carries no ranking information: the row
then keeps the mean direction and only its bias moves (factor arch; the paper arch has no per-model bias, so
there its row still moves along ``a``, pulled to the prior).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from ddcf.predictor.store import build_model

SV_REL_TOL = 1e-6  # principal directions below this share of the largest spread are numerical noise


@dataclass
class RowSpace:
    """The known models' rows as a prior: ``theta(a) = mean + basis @ a`` (basis already scaled by the spreads)."""

    arch: str
    mean: torch.Tensor  # (p,) float64
    basis: torch.Tensor  # (p, k) float64
    bias_sd: float  # spread of the known models' biases (factor arch), for a bias-only fit
    head: tuple[torch.Tensor, torch.Tensor] | None = None  # paper arch: (w_1 - w_0, b_1 - b_0), float64
    block: torch.nn.Module | None = None  # paper arch: a float64 copy of model_block

    @property
    def k(self) -> int:
        return self.basis.shape[1]

    def theta(self, a: torch.Tensor) -> torch.Tensor:
        return self.mean + self.basis @ a

    def directions(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(d, b)`` of a row: the ensemble direction and bias (factor) or the head's view of ``e`` (paper)."""
        if self.arch == "factor":
            return theta[:-1], theta[-1]
        w, hb = self.head
        return self.block(theta[None])[0] * w, hb


def _spread(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = rows.mean(0)
    if len(rows) < 2:
        return mean, torch.zeros(len(mean), 0, dtype=rows.dtype)
    _, s, vt = torch.linalg.svd(rows - mean, full_matrices=False)
    keep = s > SV_REL_TOL * max(float(s[0]), 1e-300)
    return mean, vt[keep].T * (s[keep] / (len(rows) - 1) ** 0.5)


@torch.no_grad()
def row_space(model, known_ids: list[int]) -> RowSpace:
    """The prior from the rows of the models ``known_ids`` (those the predictor was trained on)."""
    ids = torch.as_tensor(known_ids, dtype=torch.long)
    if model.arch == "factor":
        d, b = model.directions(ids)
        rows = torch.cat([d, b[:, None]], 1).double()
        mean, basis = _spread(rows)
        return RowSpace("factor", mean, basis, float(rows[:, -1].std()) if len(rows) > 1 else 1.0)
    rows = model.model_embedding.weight[ids].double()
    mean, basis = _spread(rows)
    w, hb = model.head.weight.double(), model.head.bias.double()
    block = copy.deepcopy(model.model_block).double().eval()
    for p in block.parameters():
        p.requires_grad_(False)
    return RowSpace("paper", mean, basis, 1.0, head=(w[1] - w[0], hb[1] - hb[0]), block=block)


@torch.no_grad()
def question_factors(model, x: np.ndarray, batch: int = 8192) -> torch.Tensor:
    """``encode_questions`` of seed embeddings ``x`` in eval mode, float64 (n, factor_dim)."""
    was = model.training
    model.eval()
    try:
        t = torch.from_numpy(np.array(x, dtype=np.float32))  # a copy: mmap rows are read-only
        return torch.cat([model.encode_questions(t[s:s + batch]).double() for s in range(0, len(t), batch)])
    finally:
        model.train(was)


@torch.no_grad()
def known_logits(model, factors: torch.Tensor, known_ids: list[int]) -> np.ndarray:
    """Uncalibrated logits of the known models on questions with these factors: (n, len(known_ids))."""
    d, b = model.directions(torch.as_tensor(known_ids, dtype=torch.long))
    return (factors @ d.double().T + b.double()).numpy()


@dataclass
class RowFit:
    theta: torch.Tensor  # the fitted row (factor: [d, b]; paper: the embedding row e)
    a: np.ndarray  # its coordinates in the prior's basis
    bias_only: bool  # one class only: just the bias moved
    prior_strength: float

    def logits(self, space: RowSpace, factors: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            d, b = space.directions(self.theta)
            return (factors @ d + b).numpy()


def _lbfgs(params: list[torch.Tensor], loss_fn, max_iter: int = 200) -> None:
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, tolerance_grad=1e-9, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    opt.step(closure)


def fit_row(space: RowSpace, factors: torch.Tensor, y: np.ndarray, temperature: float = 1.0,
            prior_strength: float = 1.0) -> RowFit:
    """MAP row of a new model from its answers ``y`` (0/1) on questions with ``factors`` (see the module doc)."""
    y_t = torch.as_tensor(np.asarray(y, dtype=np.float64))
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    one_class = len(np.unique(y)) < 2
    if one_class and space.arch == "factor":
        # No ranking information: keep the average direction, move the bias (prior: the known biases' spread).
        delta = torch.zeros((), dtype=torch.float64, requires_grad=True)
        d0, b0 = space.directions(space.mean)
        z0 = factors @ d0 + b0
        var = max(space.bias_sd, 1e-3) ** 2 / prior_strength
        _lbfgs([delta], lambda: bce((z0 + delta) / temperature, y_t, reduction="sum") + 0.5 * delta ** 2 / var)
        theta = space.mean.clone()
        theta[-1] += delta.detach()
        return RowFit(theta, np.zeros(space.k), True, prior_strength)
    a = torch.zeros(space.k, dtype=torch.float64, requires_grad=True)

    def loss():
        d, b = space.directions(space.theta(a))
        return bce((factors @ d + b) / temperature, y_t, reduction="sum") + 0.5 * prior_strength * (a @ a)

    if space.k:
        _lbfgs([a], loss)
    a = a.detach()
    return RowFit(space.theta(a), a.numpy().copy(), False, prior_strength)


def information_basis(space: RowSpace, factors: torch.Tensor) -> np.ndarray:
    """``g_q = d logit_q / d a`` at the prior mean, (n, k): how each question's logit moves with the new row.

    The Fisher information of a probe set about ``a`` is ``sum_q w_q g_q g_q^T`` (``w_q = p(1-p) / T^2``)."""
    a0 = torch.zeros(space.k, dtype=torch.float64)
    if space.arch == "factor":  # linear: the Jacobian is the basis itself
        return (torch.cat([factors, torch.ones(len(factors), 1, dtype=factors.dtype)], 1) @ space.basis).numpy()

    def db(a):
        d, b = space.directions(space.theta(a))
        return torch.cat([d, b.reshape(1)])

    jac = torch.autograd.functional.jacobian(db, a0)  # (f + 1, k)
    return (torch.cat([factors, torch.ones(len(factors), 1, dtype=factors.dtype)], 1) @ jac).numpy()


def add_row(model, fit: RowFit):
    """A copy of ``model`` with one more model (the fitted row) as the last model id; every other tensor is
    copied bit for bit (the new row is the only new number)."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if model.arch == "factor":
        n, r = model.n_members, model.rank
        d, b = fit.theta[:-1], fit.theta[-1]
        for i in range(n):
            # ensemble d = cat(member rows) / n, b = mean of member biases: member i's row is n * its block
            u = (d[i * r:(i + 1) * r] * n).to(state[f"members.{i}.models.weight"].dtype)
            state[f"members.{i}.models.weight"] = torch.cat([state[f"members.{i}.models.weight"], u[None]])
            bias = state[f"members.{i}.models.bias"]
            state[f"members.{i}.models.bias"] = torch.cat([bias, b.reshape(1).to(bias.dtype)])
    else:
        w = state["model_embedding.weight"]
        state["model_embedding.weight"] = torch.cat([w, fit.theta[None].to(w.dtype)])
    arch = dict(model.architecture(), arch=model.arch, num_models=model.num_models + 1)
    new = build_model(arch)
    new.load_state_dict(state, strict=True)
    return new.eval()
