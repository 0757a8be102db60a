"""Final validation of a trained predictor side by side with its baselines (base rates and kNN).

The metrics themselves are in ``ddcf.predictor.metrics``; this is the glue that makes the
predictions of each method on the validation split.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ddcf.predictor import baselines
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.data import TrainingData
from ddcf.predictor.metrics import evaluate
from ddcf.predictor.train import TrainResult, predict

PREDICTOR = "predictor (paper)"


def evaluate_all(data: TrainingData, result: TrainResult, config: PredictorConfig) -> tuple[dict, dict]:
    """Final validation metrics of the predictor and the three baselines, plus their predictions."""
    dev = result.device
    emb = torch.from_numpy(data.embeddings).to(dev)
    p_pred = predict(
        result.model, emb, torch.from_numpy(data.val.model_id).to(dev), torch.from_numpy(data.val.q_row).to(dev),
        config.eval_batch_size,
    )
    m = len(data.models)
    tr, va = data.train, data.val
    t_knn = time.perf_counter()
    # kNN works on distinct question rows: training questions vs validation questions.
    tr_rows, tr_q = np.unique(tr.q_row, return_inverse=True)
    va_rows, va_q = np.unique(va.q_row, return_inverse=True)
    p_knn = baselines.knn(
        data.embeddings[tr_rows], tr_q, tr.model_id, tr.correct, data.embeddings[va_rows], va_q, va.model_id, m,
        k=config.knn_k,
    )
    t_knn = time.perf_counter() - t_knn
    p_ds, used_ds = baselines.dataset_base_rate(tr.model_id, tr.dataset, tr.correct, va.model_id, va.dataset, m)
    preds = {
        PREDICTOR: p_pred,
        "base rate per model": baselines.base_rate(tr.model_id, tr.correct, va.model_id, m),
        "base rate per model+dataset" if used_ds else "base rate per model (one dataset)": p_ds,
        f"kNN (k={config.knn_k})": p_knn,
    }
    results = {name: evaluate(va.correct, p, va.model_id) for name, p in preds.items()}
    return results, dict(knn_seconds=t_knn, dataset_baseline_used_datasets=used_ds)
