"""The correctness predictor of the paper (Sec. 3.1, App. A.1) and of its released code (``models.py``).

    model id  -> nn.Embedding(num_models, d) -> (+ noise in training) -> residual MLP block -> E_m
    question  -> frozen sentence embedding (d) -> (+ noise in training) -> residual MLP block -> E_q
    logits    = Linear(d, 2)(E_m * E_q)               (Hadamard product, then a 2-way head)

P(correct) is ``softmax(logits)[:, 1]`` everywhere in ddcf, as in the released difficulty
script.  That is what the cross-entropy loss trains; it equals ``sigmoid(logit_1 - logit_0)``.
The paper's eq. 2 literally writes ``sigmoid(logit_1)``, which ignores logit 0 and so is not
the probability the loss calibrates; we use the softmax form.

Training mode follows the released code step for step, including the order in which the
global torch RNG is consumed (so the same RNG state gives the same output, bit for bit on
CPU; ``tests/predictor/test_predictor_reference.py``): noise on the model side, noise on the
question side, then the model block's dropout, second dropout and drop-path, then the
question block's.  Eval mode uses none of them.
"""

from __future__ import annotations

import torch
from torch import nn

from ddcf.predictor.config import hidden_width

# The architecture is fixed by the paper; these keys describe one instance of it.
ARCH_KEYS = ("num_models", "dim", "hidden_dim", "dropout", "alpha")
#: keys added later, with the value that predictors saved before them were trained with (both only matter in
#: training: a stored predictor is only ever evaluated)
OPTIONAL_ARCH_KEYS = {"out_dropout": 0.0, "drop_path": 0.0}


class DropPath(nn.Module):
    """Stochastic depth per sample: in training, zero a row's whole residual branch with probability p and
    scale kept rows by 1 / (1 - p).  Draws one Bernoulli per row from the global RNG, like timm's DropPath
    that the released code uses."""

    def __init__(self, p: float):
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _dropout(p: float) -> nn.Module:
    # No module at p = 0, so that a disabled dropout draws nothing from the RNG.
    return nn.Dropout(p) if p > 0 else nn.Identity()


class ResidualMLPBlock(nn.Module):
    """``x + DropPath(Dropout2(W2(Dropout(ReLU(W1(LayerNorm(x)))))))`` with W2 zero-initialised.

    The released code's block: both dropouts use the same rate (0.8) and the drop-path rate is 0.2.
    ``out_dropout=0, drop_path=0`` is the block of ddcf before it matched the released code (the paper's
    text names only the first dropout)."""

    def __init__(self, dim: int, hidden: int, dropout: float, out_dropout: float = 0.0, drop_path: float = 0.0):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.w1 = nn.Linear(dim, hidden)
        self.act = nn.ReLU()
        self.drop = _dropout(dropout)
        self.w2 = nn.Linear(hidden, dim)
        self.drop2 = _dropout(out_dropout)
        self.drop_path = DropPath(drop_path)
        # Zero W2 (weight and bias) so the block starts as the exact identity: training
        # begins from the raw embeddings and only learns a correction on top of them.
        nn.init.zeros_(self.w2.weight)
        nn.init.zeros_(self.w2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.drop2(self.w2(self.drop(self.act(self.w1(self.norm(x)))))))


class CorrectnessPredictor(nn.Module):
    """The paper's predictor (``--arch paper``)."""

    arch = "paper"

    def __init__(
        self, num_models: int, dim: int, hidden_dim: int | None = None, dropout: float = 0.8, alpha: float = 1e-2,
        out_dropout: float = 0.8, drop_path: float = 0.2,
    ):
        super().__init__()
        if num_models < 1 or dim < 1:
            raise ValueError(f"num_models ({num_models}) and dim ({dim}) must be positive")
        hidden_dim = hidden_width(dim, 0.1) if hidden_dim is None else int(hidden_dim)
        self.num_models, self.dim, self.hidden_dim = int(num_models), int(dim), hidden_dim
        self.dropout, self.alpha = float(dropout), float(alpha)
        self.out_dropout, self.drop_path = float(out_dropout), float(drop_path)
        self.model_embedding = nn.Embedding(num_models, dim)
        self.model_block = ResidualMLPBlock(dim, hidden_dim, dropout, out_dropout, drop_path)
        self.question_block = ResidualMLPBlock(dim, hidden_dim, dropout, out_dropout, drop_path)
        self.head = nn.Linear(dim, 2)

    # ---- description for config.json / reconstruction
    def architecture(self) -> dict:
        return dict(
            num_models=self.num_models, dim=self.dim, hidden_dim=self.hidden_dim, dropout=self.dropout,
            alpha=self.alpha, out_dropout=self.out_dropout, drop_path=self.drop_path,
        )

    @classmethod
    def from_architecture(cls, arch: dict) -> "CorrectnessPredictor":
        return cls(**{k: arch[k] for k in ARCH_KEYS}, **{k: arch.get(k, v) for k, v in OPTIONAL_ARCH_KEYS.items()})

    # ---- encoders
    def _noise(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor | None:
        """Embedding-level augmentation (App. A.1, eq. 8-9): ``N(0, alpha^2)`` to add to ``x``, only while training.

        ``noise`` may carry a pre-drawn sample of that distribution (already scaled by
        alpha), which lets the training loop draw it on another core; otherwise it is
        drawn here as ``randn * alpha``, the released code's draw (same RNG use, same values).
        """
        if not (self.training and self.alpha > 0):
            return None
        return torch.randn_like(x).mul_(self.alpha) if noise is None else noise

    @staticmethod
    def _add(x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        # Out of place: x may be a row of the frozen question table (never modified).
        return x if noise is None else x + noise

    def encode_models(self, model_ids: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        x = self.model_embedding(model_ids)
        return self.model_block(self._add(x, self._noise(x, noise)))

    def encode_questions(self, question_embeddings: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The factorized question embedding (question-encoder output)."""
        return self.question_block(self._add(question_embeddings, self._noise(question_embeddings, noise)))

    def forward(
        self,
        model_ids: torch.Tensor,
        question_embeddings: torch.Tensor,
        noise: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Logits (B, 2).  ``noise``: optional pre-drawn (model-side, question-side) training noise.

        Both noises are drawn before either block runs, as in the released code: with the same RNG
        state, the same training-mode output."""
        nm, nq = noise if noise is not None else (None, None)
        xm = self.model_embedding(model_ids)
        nm = self._noise(xm, nm)
        nq = self._noise(question_embeddings, nq)
        em = self.model_block(self._add(xm, nm))
        eq = self.question_block(self._add(question_embeddings, nq))
        return self.head(em * eq)

    # ---- the common scoring interface (shared with ddcf.predictor.factor.model.FactorPredictor)
    n_text = 0  # reads the sentence embedding only

    @property
    def factor_dim(self) -> int:
        return self.dim

    @property
    def input_dim(self) -> int:
        return self.dim

    def directions(self, model_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(D, b) with ``logit_1 - logit_0 = encode_questions(x) @ D.T + b`` for the 2-logit head:
        ``(E_m * E_q) . (w_1 - w_0) + (b_1 - b_0) = E_q . (E_m * (w_1 - w_0)) + (b_1 - b_0)``."""
        w, hb = self.head.weight, self.head.bias
        d = self.encode_models(model_ids) * (w[1] - w[0])
        return d, (hb[1] - hb[0]).expand(len(model_ids))

    def logit_pairs(self, model_ids: torch.Tensor, question_embeddings: torch.Tensor) -> torch.Tensor:
        """``logit_1 - logit_0`` of each pair (B,): P(correct) = sigmoid of it."""
        logits = self(model_ids, question_embeddings)
        return logits[:, 1] - logits[:, 0]

    @torch.no_grad()
    def predict_proba(self, model_ids: torch.Tensor, question_embeddings: torch.Tensor,
                      temperature: float = 1.0) -> torch.Tensor:
        """P(correct) in eval mode (no noise, no dropout); restores the previous mode.

        With ``temperature`` 1 this is ``softmax(logits)[:, 1]``; otherwise ``sigmoid((l1 - l0) / T)``."""
        was_training = self.training
        self.eval()
        try:
            if temperature == 1.0:
                return torch.softmax(self(model_ids, question_embeddings), dim=-1)[:, 1]
            return torch.sigmoid(self.logit_pairs(model_ids, question_embeddings) / temperature)
        finally:
            self.train(was_training)
