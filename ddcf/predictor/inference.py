"""P(correct) of a trained predictor (either architecture) for many (model, question) pairs, in batches."""

from __future__ import annotations

import numpy as np
import torch


@torch.no_grad()
def predict(
    model, emb: torch.Tensor, model_ids: torch.Tensor, q_rows: torch.Tensor, batch_size: int
) -> np.ndarray:
    """P(correct) for many pairs, in large batches, eval mode (uncalibrated: temperature 1)."""
    return torch.sigmoid(torch.from_numpy(predict_logits(model, emb, model_ids, q_rows, batch_size))).numpy()


@torch.no_grad()
def predict_logits(model, emb: torch.Tensor, model_ids: torch.Tensor, q_rows: torch.Tensor,
                   batch_size: int) -> np.ndarray:
    """The logit of P(correct) for many pairs (float64), in large batches, eval mode."""
    model.eval()
    out = [
        model.logit_pairs(model_ids[s : s + batch_size], emb[q_rows[s : s + batch_size]])
        for s in range(0, len(model_ids), batch_size)
    ]
    return torch.cat(out).double().cpu().numpy() if out else np.zeros(0)
