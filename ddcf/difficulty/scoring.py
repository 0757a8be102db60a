"""Stage 5's scoring: P(correct) of every corpus question for many models at once.

The corpus embeddings are memory-mapped and scored in chunks: each chunk goes
through the question encoder once, and P(correct) for *all* requested models
comes from one matrix product, because both architectures' logit is bilinear in
the encoded question: ``logit = encode_questions(x) @ D_m + b_m`` with
``(D, b) = model.directions(ids)``.  For the paper's 2-logit head
``logit_1 - logit_0 = (E_m * E_q) . (w_1 - w_0) + (b_1 - b_0) = E_q . (E_m * (w_1 - w_0)) + (b_1 - b_0)``;
for the factor ensemble D is the members' u_m side by side.  P(correct) is
``sigmoid(logit / T)`` with the calibration temperature T stored with the predictor,
the same probability ``model.predict_proba(ids, x, T)`` returns.
"""

from __future__ import annotations

import numpy as np
import torch

from ddcf.artifacts import corpus as corpus_table
from ddcf.errors import DDCFError
from ddcf.layout import Layout
from ddcf.predictor.features import features_for_ids
from ddcf.predictor.store import LoadedPredictor
from ddcf.runtime import progress as progress_bar

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@torch.no_grad()
def score_chunks(
    pred: LoadedPredictor,
    corpus: np.ndarray,
    model_ids: list[int],
    chunk_size: int = 32768,
    device: str = "cpu",
    factorized_out: np.ndarray | None = None,
    progress: bool = True,
    text: np.ndarray | None = None,
    se_out: np.ndarray | None = None,
) -> np.ndarray:
    """P(correct) of shape (len(model_ids), n_questions) as float32; optionally fill ``factorized_out``
    (shape (n_questions, ``pred.model.factor_dim``)).  ``text``: the raw text statistics of every corpus row
    (:func:`corpus_text_features`), needed when the predictor uses them.  ``se_out`` (same shape as the result;
    ensembles only, :func:`has_member_spread`): filled with the standard error of each P(correct) from the spread
    of the ensemble members, ``p (1 - p) sd_i(logit_i / T) / sqrt(N)`` (the delta method on the mean logit): how
    much a retraining with another seed would move it (``ddcf.select.stability``)."""
    n_text = getattr(pred.model, "n_text", 0)
    if n_text and (text is None or text.shape != (corpus.shape[0], n_text)):
        raise ValueError("this predictor reads text statistics: pass text= with one row per corpus question")
    model = pred.model.to(device).eval()
    ids = torch.as_tensor(model_ids, dtype=torch.long, device=device)
    directions, bias = model.directions(ids)  # (M, f), (M,): per-model direction in factorized question space
    temperature = pred.temperature
    directions, bias = directions / temperature, bias[:, None] / temperature
    n = corpus.shape[0]
    out = np.empty((len(model_ids), n), dtype=np.float32)
    bar = progress_bar(total=n, desc="scoring corpus", unit="q", enabled=progress)
    for start in range(0, n, chunk_size):
        # np.array copies the chunk out of the read-only memory map.
        block = np.array(corpus[start : start + chunk_size], dtype=np.float32)
        if n_text:
            block = np.concatenate([block, text[start : start + chunk_size]], axis=1)
        block = torch.from_numpy(block)
        fq = model.encode_questions(block.to(device))
        if factorized_out is not None:
            factorized_out[start : start + len(block)] = fq.float().cpu().numpy()
        p = torch.sigmoid(directions @ fq.T + bias)
        out[:, start : start + len(block)] = p.float().cpu().numpy()
        if se_out is not None:
            z = model.member_logits(fq, ids) / temperature  # (members, M, chunk)
            se = p * (1 - p) * z.std(0, unbiased=True) / z.shape[0] ** 0.5
            se_out[:, start : start + len(block)] = se.float().cpu().numpy()
        bar.update(len(block))
    bar.close()
    return out


def has_member_spread(pred: LoadedPredictor) -> bool:
    """Whether the predictor is an ensemble of at least 2 members (so the members' spread is defined)."""
    return hasattr(pred.model, "member_logits") and getattr(pred.model, "n_members", 1) >= 2


def corpus_text_features(pred: LoadedPredictor, layout: Layout, ids) -> np.ndarray | None:
    """The text statistics of the corpus questions ``ids`` (from DDCF_data/corpus/questions.parquet), when the
    predictor was trained with them (``--text_features``); None otherwise."""
    if not getattr(pred.model, "n_text", 0):
        return None

    fix = ("provide DDCF_data/corpus/questions.parquet with the corpus questions' text (question_id, question), or "
           "retrain the predictor with --text_features off.")
    if not layout.corpus_questions.exists():
        raise DDCFError(f"The predictor in {pred.directory} reads the question text (--text_features), so scoring "
                        f"needs the corpus texts, but {layout.corpus_questions} does not exist.", fix)
    cq = corpus_table.read_corpus(layout, columns=("question_id", "question"), fix=fix)
    texts = dict(zip(cq["question_id"], cq["question"]))
    return features_for_ids(list(ids), texts, layout.corpus_questions, pred.directory, fix)


def summarize(p: np.ndarray) -> dict:
    q = np.quantile(p, QUANTILES) if len(p) else [np.nan] * len(QUANTILES)
    return dict(n=int(len(p)), mean=float(np.mean(p)) if len(p) else np.nan,
                **{f"q{int(x * 100):02d}": float(v) for x, v in zip(QUANTILES, q)})
