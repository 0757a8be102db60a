"""The default correctness predictor (``--arch factor``): an ensemble of low-rank question-factor models.

Each member maps a question's sentence embedding to a small factor vector and scores every model with
one dot product:

    h(q)       = Linear(H, r)(Dropout(GELU(Linear(d, H)(Dropout(e_q)))))      question factor, r dims
    logit(m,q) = u_m . h(q) + c_m                                               u_m, c_m: per model

Members differ only in their seed; the ensemble averages their logits, which is itself one such model
with the members' factors concatenated:

    logit(m,q) = [u_m^1 .. u_m^N] / N . [h^1(q) .. h^N(q)] + mean_i c_m^i

So scoring a corpus stays one matrix product for all models (``directions``), and a new model is one row
(u_m, c_m) of a logistic regression on frozen factors (cold start needs nothing else).

Why not the paper's architecture by default: on held-out *questions* (the honest protocol of
``create_training_data.py``'s test split) it ranked questions per model worse than a per-model logistic
regression on the same embeddings, and its probabilities were less calibrated; this model is trained per
question on all models at once (every answer of a question is one target row, masked where missing), with
early stopping on validation log loss. The benchmark ``benchmarks/bench_predictor_quality.py`` measures both.
"""

from __future__ import annotations

import torch
from torch import nn

FACTOR_ARCH_KEYS = ("num_models", "dim", "hidden", "rank", "members", "input_dropout", "dropout", "n_text")
#: weight of the standardised text statistics beside a unit-norm embedding (whose coordinates are ~1/sqrt(d))
TEXT_SCALE = 0.3


class FactorMember(nn.Module):
    """One member: the question encoder h and the model side (u, c)."""

    def __init__(self, num_models: int, dim: int, hidden: int, rank: int, input_dropout: float, dropout: float):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Dropout(input_dropout), nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, rank)
        )
        self.models = nn.Linear(rank, num_models)  # weight row m = u_m, bias m = c_m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of every model for every question: (n, num_models)."""
        return self.models(self.encoder(x))


class FactorPredictor(nn.Module):
    """The ensemble; ``members`` are trained separately (``ddcf.predictor.factor.train``)."""

    arch = "factor"

    def __init__(self, num_models: int, dim: int, hidden: int = 256, rank: int = 32, members: int = 5,
                 input_dropout: float = 0.1, dropout: float = 0.5, n_text: int = 0):
        super().__init__()
        if min(num_models, dim, hidden, rank, members) < 1 or n_text < 0:
            raise ValueError("num_models, dim, hidden, rank and members must be positive, n_text >= 0")
        self.num_models, self.dim, self.hidden, self.rank = int(num_models), int(dim), int(hidden), int(rank)
        self.n_members, self.n_text = int(members), int(n_text)
        self.input_dropout, self.dropout = float(input_dropout), float(dropout)
        # Standardisation of the text statistics (ddcf.predictor.features), fitted on the training questions.
        self.register_buffer("text_mean", torch.zeros(self.n_text))
        self.register_buffer("text_std", torch.ones(self.n_text))
        self.members = nn.ModuleList(
            FactorMember(num_models, dim + self.n_text, hidden, rank, input_dropout, dropout) for _ in range(members)
        )

    # ---- description for config.json / reconstruction
    def architecture(self) -> dict:
        return dict(arch=self.arch, num_models=self.num_models, dim=self.dim, hidden=self.hidden, rank=self.rank,
                    members=self.n_members, input_dropout=self.input_dropout, dropout=self.dropout,
                    n_text=self.n_text)

    @classmethod
    def from_architecture(cls, arch: dict) -> "FactorPredictor":
        return cls(**{k: arch.get(k, 0) if k == "n_text" else arch[k] for k in FACTOR_ARCH_KEYS})

    @property
    def input_dim(self) -> int:
        """Width of a question's input row: the embedding, then the raw text statistics (if any)."""
        return self.dim + self.n_text

    def fit_text_scaling(self, raw_text: torch.Tensor) -> None:
        """Set the text statistics' standardisation from the training questions' raw values."""
        if self.n_text:
            self.text_mean.copy_(raw_text.mean(0))
            self.text_std.copy_(raw_text.std(0).clamp_min(1e-3))

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Raw input rows (embedding + raw text statistics) -> what the members' encoders read."""
        if not self.n_text:
            return x
        z = (x[:, self.dim :] - self.text_mean) / self.text_std * TEXT_SCALE
        return torch.cat([x[:, : self.dim], z], dim=1)

    @property
    def factor_dim(self) -> int:
        """Width of the factorized question embedding (all members' factors side by side)."""
        return self.rank * self.n_members

    # ---- the common scoring interface (shared with the paper's CorrectnessPredictor)
    def encode_questions(self, question_embeddings: torch.Tensor) -> torch.Tensor:
        """The factorized question embedding: every member's h(q), concatenated (n, rank * members).

        Input rows are ``input_dim`` wide: the sentence embedding, then the raw text statistics when the
        predictor uses them (``ddcf.predictor.features``)."""
        x = self.prepare(question_embeddings)
        return torch.cat([m.encoder(x) for m in self.members], dim=1)

    def directions(self, model_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(D, b) with ``logit = encode_questions(x) @ D.T + b``: D is (len(ids), factor_dim), b (len(ids),)."""
        n = self.n_members
        d = torch.cat([m.models.weight[model_ids] for m in self.members], dim=1) / n
        b = torch.stack([m.models.bias[model_ids] for m in self.members]).mean(0)
        return d, b

    def member_directions(self, model_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each member's own (u_m, c_m): U (members, len(ids), rank), C (members, len(ids)).  Member i's logit is
        ``encode_questions(x)[:, i*rank:(i+1)*rank] @ U[i].T + C[i]``; their mean is :meth:`directions`' logit."""
        u = torch.stack([m.models.weight[model_ids] for m in self.members])
        c = torch.stack([m.models.bias[model_ids] for m in self.members])
        return u, c

    def member_logits(self, factors: torch.Tensor, model_ids: torch.Tensor) -> torch.Tensor:
        """Every member's logit from the encoded questions ``factors`` (n, factor_dim): (members, len(ids), n).
        Used for the members' spread (the seed noise of the ensemble mean, ``ddcf.select.stability``)."""
        u, c = self.member_directions(model_ids)
        f = factors.reshape(factors.shape[0], self.n_members, self.rank)
        return torch.einsum("nqr,nmr->nmq", f.transpose(0, 1), u) + c[:, :, None]

    def logit_pairs(self, model_ids: torch.Tensor, question_embeddings: torch.Tensor) -> torch.Tensor:
        """Uncalibrated ensemble logit of each (model, question) pair: shape (B,)."""
        d, b = self.directions(model_ids)
        return (self.encode_questions(question_embeddings) * d).sum(1) + b

    @torch.no_grad()
    def predict_proba(self, model_ids: torch.Tensor, question_embeddings: torch.Tensor,
                      temperature: float = 1.0) -> torch.Tensor:
        """P(correct) in eval mode, ``sigmoid(logit / temperature)``; restores the previous mode."""
        was_training = self.training
        self.eval()
        try:
            return torch.sigmoid(self.logit_pairs(model_ids, question_embeddings) / temperature)
        finally:
            self.train(was_training)
