"""The correctness predictor of the paper (Sec. 3.1, App. A.1).

    model id  -> nn.Embedding(num_models, d) -> (+ noise in training) -> residual MLP block -> E_m
    question  -> frozen sentence embedding (d) -> (+ noise in training) -> residual MLP block -> E_q
    logits    = Linear(d, 2)(E_m * E_q)               (Hadamard product, then a 2-way head)

P(correct) is ``softmax(logits)[:, 1]`` everywhere in ddcf.  That is what the
cross-entropy loss trains; it equals ``sigmoid(logit_1 - logit_0)``.  The
paper's eq. 2 literally writes ``sigmoid(logit_1)``, which ignores logit 0 and
so is not the probability the loss calibrates; we use the softmax form.
"""

from __future__ import annotations

import torch
from torch import nn

from ddcf.predictor.config import hidden_width

# The architecture is fixed by the paper; these keys describe one instance of it.
ARCH_KEYS = ("num_models", "dim", "hidden_dim", "dropout", "alpha")


class ResidualMLPBlock(nn.Module):
    """``x + W2(Dropout(ReLU(W1(LayerNorm(x)))))`` with W2 zero-initialised (identity at init)."""

    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.w1 = nn.Linear(dim, hidden)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.w2 = nn.Linear(hidden, dim)
        # Zero W2 (weight and bias) so the block starts as the exact identity: training
        # begins from the raw embeddings and only learns a correction on top of them.
        nn.init.zeros_(self.w2.weight)
        nn.init.zeros_(self.w2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.w2(self.drop(self.act(self.w1(self.norm(x)))))


class CorrectnessPredictor(nn.Module):
    """The paper's predictor (``--arch paper``)."""

    arch = "paper"

    def __init__(
        self, num_models: int, dim: int, hidden_dim: int | None = None, dropout: float = 0.8, alpha: float = 1e-2
    ):
        super().__init__()
        if num_models < 1 or dim < 1:
            raise ValueError(f"num_models ({num_models}) and dim ({dim}) must be positive")
        hidden_dim = hidden_width(dim, 0.1) if hidden_dim is None else int(hidden_dim)
        self.num_models, self.dim, self.hidden_dim = int(num_models), int(dim), hidden_dim
        self.dropout, self.alpha = float(dropout), float(alpha)
        self.model_embedding = nn.Embedding(num_models, dim)
        self.model_block = ResidualMLPBlock(dim, hidden_dim, dropout)
        self.question_block = ResidualMLPBlock(dim, hidden_dim, dropout)
        self.head = nn.Linear(dim, 2)

    # ---- description for config.json / reconstruction
    def architecture(self) -> dict:
        return dict(
            num_models=self.num_models, dim=self.dim, hidden_dim=self.hidden_dim, dropout=self.dropout, alpha=self.alpha
        )

    @classmethod
    def from_architecture(cls, arch: dict) -> "CorrectnessPredictor":
        return cls(**{k: arch[k] for k in ARCH_KEYS})

    # ---- encoders
    def _noisy(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Embedding-level augmentation (App. A.1, eq. 8-9): ``x + N(0, alpha^2)``, only while training.

        ``noise`` may carry a pre-drawn sample of that distribution (already scaled by
        alpha), which lets the training loop draw it on another core; otherwise it is
        drawn here.  normal_(0, alpha) draws and scales in one pass.
        """
        if not (self.training and self.alpha > 0):
            return x
        if noise is None:
            noise = torch.empty_like(x).normal_(0.0, self.alpha)
        return x + noise

    def encode_models(self, model_ids: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.model_block(self._noisy(self.model_embedding(model_ids), noise))

    def encode_questions(self, question_embeddings: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The factorized question embedding (question-encoder output)."""
        return self.question_block(self._noisy(question_embeddings, noise))

    def forward(
        self,
        model_ids: torch.Tensor,
        question_embeddings: torch.Tensor,
        noise: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Logits (B, 2).  ``noise``: optional pre-drawn (model-side, question-side) training noise."""
        nm, nq = noise if noise is not None else (None, None)
        return self.head(self.encode_models(model_ids, nm) * self.encode_questions(question_embeddings, nq))

    # ---- the common scoring interface (shared with ddcf.predictor.factor_model.FactorPredictor)
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
