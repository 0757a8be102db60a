"""The neighbour estimate of P(correct), and its blend with a predictor's logits, chosen on validation.

For a question q and a model m, the neighbour estimate is m's mean correctness over the k training questions
most similar to q (cosine of the sentence embeddings) among those m answered; when fewer than k such
questions are among the ``pool`` most similar, the missing ones count as m's base rate.  It is the kNN
baseline of ``ddcf.predictor.baselines``, which is built on :class:`NeighbourTable`.

The blend (issue 23: does mixing in the neighbours put the default predictor further ahead of kNN on task
mixes?) is measured by ``benchmarks/bench_predictor_quality.py`` as its own row, never on test:

    z_f = the predictor's calibrated logit
    z_n = logit(neighbour estimate, clipped to [1/(2k), 1 - 1/(2k)])
    P   = sigmoid(((1 - w) z_f + w z_n) / T_b)     (w, k: best mean per-model AUC on validation;
                                                    T_b: the mix's temperature on validation log loss)

It is not part of the default predictor: measured on two real matrices it moved the held-out mean per-model
AUC by -0.006 and +0.001 (docs/predictor.md, "Against kNN on other task mixes").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ddcf.artifacts.embeddings import unit_rows
from ddcf.predictor.calibration import fit_temperature, logit
from ddcf.predictor.metrics import mean_model_auc

#: k values tried (capped by --knn_k) and mix weights tried on validation
K_GRID = (5, 10, 20, 50, 100)
WEIGHT_GRID = tuple(round(0.1 * i, 1) for i in range(10))  # 0.0 .. 0.9: the factor part always stays in
CHUNK = 512  # questions per similarity block: a (CHUNK, n_train) float32 block stays small at paper scale


def pool_size(k: int, n: int, pool: int | None = None) -> int:
    """Candidates kept per question before the per-model walk: enough for k answered ones in a sparse matrix."""
    return min(n, pool or max(5 * k, k + 50))


@dataclass
class NeighbourTable:
    """The training questions as the neighbour estimate reads them."""

    keys: np.ndarray  # (n, d) float32 unit rows of the training questions' embeddings
    rate: np.ndarray  # (n, M) float32: each model's mean correctness on the question (0 where not answered)
    answered: np.ndarray  # (n, M) bool
    prior: np.ndarray  # (M,) float64: each model's training accuracy (the global rate for a model without rows)

    @classmethod
    def from_pairs(cls, emb: np.ndarray, q_row, model_id, correct, num_models: int) -> "NeighbourTable":
        """``emb`` rows are the questions ``q_row`` indexes; one (model, question, 0/1) per pair."""
        q_row, model_id = np.asarray(q_row, np.int64), np.asarray(model_id, np.int64)
        y = np.asarray(correct, np.float64)
        n_ans = np.zeros((emb.shape[0], num_models), np.float32)
        n_cor = np.zeros_like(n_ans)
        np.add.at(n_ans, (q_row, model_id), 1.0)
        np.add.at(n_cor, (q_row, model_id), y)
        counts = np.bincount(model_id, minlength=num_models)
        sums = np.bincount(model_id, weights=y, minlength=num_models)
        global_rate = float(y.mean()) if len(y) else 0.5
        prior = np.where(counts > 0, sums / np.maximum(counts, 1), global_rate)
        answered = n_ans > 0
        return cls(keys=unit_rows(emb, dtype=np.float32, floor=1e-12),
                   rate=np.where(answered, n_cor / np.maximum(n_ans, 1), 0.0).astype(np.float32),
                   answered=answered, prior=prior.astype(np.float64))

    def __len__(self) -> int:
        return self.keys.shape[0]

    def estimate(self, x: np.ndarray, k: int, pool: int | None = None, chunk: int = CHUNK,
                 tick: Callable[[int], None] | None = None) -> np.ndarray:
        """(len(x), M) float32: every model's neighbour estimate for the question rows ``x`` (normalised here)."""
        n = len(self)
        queries = unit_rows(x, dtype=np.float32, floor=1e-12)
        pool = pool_size(k, n, pool)
        out = np.empty((queries.shape[0], self.rate.shape[1]), np.float32)
        for start in range(0, queries.shape[0], chunk):
            sim = queries[start : start + chunk] @ self.keys.T  # (c, n)
            if pool < n:
                top = np.argpartition(-sim, pool - 1, axis=1)[:, :pool]
            else:
                top = np.broadcast_to(np.arange(n), sim.shape).copy()
            order = np.argsort(-np.take_along_axis(sim, top, axis=1), axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)  # (c, pool), most similar first
            ans = self.answered[top]  # (c, pool, M)
            keep = ans & (np.cumsum(ans, axis=1) <= k)
            cnt = keep.sum(axis=1)
            total = np.where(keep, self.rate[top], 0.0).sum(axis=1)
            out[start : start + chunk] = (total + (k - cnt) * self.prior[None, :]) / k
            if tick is not None:
                tick(1)
        return out


def neighbour_logit(p, k: int) -> np.ndarray:
    """The neighbour estimate (a mean of k answers) as a finite logit: 0 and 1 are moved by half an answer, so
    that k agreeing neighbours do not outvote the other part of the mix with a logit of +-34."""
    half = 0.5 / k
    return logit(np.clip(np.asarray(p, np.float64), half, 1 - half))


def mix(z_factor, z_neighbour, weight: float, temperature: float) -> np.ndarray:
    """The blended, calibrated logit ``((1 - w) z_f + w z_n) / T_b``."""
    z = np.asarray(z_factor, np.float64)
    if weight:
        z = (1.0 - weight) * z + weight * np.asarray(z_neighbour, np.float64)
    return z / temperature


@dataclass
class Blend:
    """The mix chosen on validation; ``weight == 0`` is the predictor alone."""

    k: int
    weight: float
    temperature: float
    val_mean_model_auc: float  # of the mix
    val_mean_model_auc_alone: float  # of the predictor alone

    def describe(self) -> dict:
        return dict(k=int(self.k), weight=float(self.weight), temperature=float(self.temperature),
                    val_mean_model_auc=float(self.val_mean_model_auc),
                    val_mean_model_auc_alone=float(self.val_mean_model_auc_alone))


def blend_logits(table: NeighbourTable, blend: Blend, x: np.ndarray, q, model_id, z) -> np.ndarray:
    """The blend's logit of each pair: ``x`` rows are the questions ``q`` indexes, ``z`` the predictor's
    calibrated logit of each pair."""
    if not blend.weight:
        return np.asarray(z, np.float64) / blend.temperature
    est = table.estimate(x, blend.k)[np.asarray(q, np.int64), np.asarray(model_id, np.int64)]
    return mix(z, neighbour_logit(est, blend.k), blend.weight, blend.temperature)


def choose_blend(table: NeighbourTable, x_val: np.ndarray, val_q, val_mid, val_y, z_val,
                 ks=K_GRID, weights=WEIGHT_GRID, calibrate: bool = True) -> Blend:
    """The (k, w) of the grid with the best mean per-model AUC on the validation pairs (ties: smaller w, then
    smaller k; w = 0 unless a mix is strictly better), then the mix's temperature on validation log loss.
    ``x_val`` rows are the validation questions that ``val_q`` indexes; ``z_val`` the predictor's calibrated
    logit of each validation pair."""
    val_q, val_mid = np.asarray(val_q, np.int64), np.asarray(val_mid, np.int64)
    y = np.asarray(val_y)
    zf = np.asarray(z_val, np.float64)
    alone = mean_model_auc(y, zf, val_mid)
    best_auc, best_w, best_k, best_zn = alone, 0.0, min(ks), None
    for k in sorted(set(ks)):
        zn = neighbour_logit(table.estimate(x_val, k)[val_q, val_mid], k)
        for w in weights:
            if not w:  # the predictor alone: ``alone`` above
                continue
            auc = mean_model_auc(y, mix(zf, zn, w, 1.0), val_mid)
            if np.isfinite(auc) and auc > best_auc + 1e-12:
                best_auc, best_w, best_k, best_zn = auc, w, k, zn
    blend = Blend(k=int(best_k), weight=float(best_w), temperature=1.0, val_mean_model_auc=float(best_auc),
                  val_mean_model_auc_alone=float(alone))
    if calibrate and best_w:  # the chosen mix's logits are at hand: no second neighbour search
        blend.temperature = fit_temperature(mix(zf, best_zn, best_w, 1.0), y)
    return blend
