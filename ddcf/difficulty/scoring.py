"""Stage 5's scoring: P(correct) of every corpus question for many models at once.

The corpus embeddings are memory-mapped and scored in chunks: each chunk goes
through the question encoder once, and P(correct) for *all* requested models
comes from one matrix product, because for the 2-logit head

    logit_1 - logit_0 = (E_m * E_q) . (w_1 - w_0) + (b_1 - b_0) = E_q . (E_m * (w_1 - w_0)) + (b_1 - b_0)

and softmax(logits)[1] = sigmoid(logit_1 - logit_0).  This is the same
probability :meth:`CorrectnessPredictor.predict_proba` returns.
"""

from __future__ import annotations

import numpy as np
import torch

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
) -> np.ndarray:
    """P(correct) of shape (len(model_ids), n_questions) as float32; optionally fill ``factorized_out``."""
    model = pred.model.to(device).eval()
    ids = torch.as_tensor(model_ids, dtype=torch.long, device=device)
    w = model.head.weight
    # Per-model direction in factorized question space: E_m * (w_1 - w_0).
    directions = model.encode_models(ids) * (w[1] - w[0])  # (M, d)
    bias = model.head.bias[1] - model.head.bias[0]
    n = corpus.shape[0]
    out = np.empty((len(model_ids), n), dtype=np.float32)
    bar = progress_bar(total=n, desc="scoring corpus", unit="q", enabled=progress)
    for start in range(0, n, chunk_size):
        # np.array copies the chunk out of the read-only memory map.
        block = torch.from_numpy(np.array(corpus[start : start + chunk_size], dtype=np.float32))
        fq = model.encode_questions(block.to(device))
        if factorized_out is not None:
            factorized_out[start : start + len(block)] = fq.float().cpu().numpy()
        out[:, start : start + len(block)] = torch.sigmoid(directions @ fq.T + bias).float().cpu().numpy()
        bar.update(len(block))
    bar.close()
    return out


def summarize(p: np.ndarray) -> dict:
    q = np.quantile(p, QUANTILES) if len(p) else [np.nan] * len(QUANTILES)
    return dict(n=int(len(p)), mean=float(np.mean(p)) if len(p) else np.nan,
                **{f"q{int(x * 100):02d}": float(v) for x, v in zip(QUANTILES, q)})
