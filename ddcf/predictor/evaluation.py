"""The honest protocol of stage 4: calibrate on validation, report validation and test separately.

Every method (the predictor and each baseline) is fitted on the training questions only; anything it
chooses (the predictor's epochs and temperature, kNN's k, the logistic regression's C, the IRT model's
regularisation) is chosen on the validation questions; the test questions are only scored.  The metrics
themselves are in ``ddcf.predictor.metrics``; the baselines in ``ddcf.predictor.baselines`` and
``ddcf.predictor.irt``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ddcf.predictor import baselines
from ddcf.predictor.calibration import apply_temperature, fit_temperature
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.data import Pairs, TrainingData
from ddcf.predictor.inference import predict_logits
from ddcf.predictor.irt import fit_irt
from ddcf.predictor.metrics import evaluate
from ddcf.predictor.train import TrainResult
from ddcf.runtime import progress

BASELINE_LABELS = {
    "base_rate": "base rate per model",
    "dataset_base_rate": "base rate per model+dataset",
    "knn": "kNN",
    "logistic": "logistic per model",
    "irt": "IRT (2-dim, from embedding)",
}


def predictor_label(arch: str) -> str:
    return f"predictor ({arch})"


@dataclass
class Evaluation:
    val: dict[str, dict]  # method -> metrics on the validation questions
    test: dict[str, dict] | None  # method -> metrics on the test questions; None without a test split
    temperature: float
    chosen: dict = field(default_factory=dict)  # settings picked on validation, per method
    seconds: dict = field(default_factory=dict)  # fitting time per method
    predictions: dict = field(default_factory=dict)  # split -> method -> P(correct) (for the reliability figure)

    @property
    def reported(self) -> dict[str, dict]:
        """The figures to quote: test when there is a test split, else validation."""
        return self.test if self.test is not None else self.val


def _rows(pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
    """Distinct embedding rows of a split and each pair's index into them."""
    rows, inv = np.unique(pairs.q_row, return_inverse=True)
    return rows, inv.astype(np.int64)


def _concat(a: Pairs, b: Pairs) -> Pairs:
    return Pairs(np.concatenate([a.model_id, b.model_id]), np.concatenate([a.q_row, b.q_row]),
                 np.concatenate([a.correct, b.correct]), np.concatenate([a.dataset, b.dataset]))


def pair_metrics(pairs: Pairs, p: np.ndarray) -> dict:
    """Every metric of ``ddcf.predictor.metrics`` for P(correct) ``p`` of the pairs (with pass rates when known)."""
    pr = pairs.pass_rate
    use_rates = pr is not None and len(pr) and not np.isnan(pr).all()
    return evaluate(pairs.correct, p, pairs.model_id, pass_rate=pr if use_rates else None)


def baseline_predictions(data: TrainingData, config: PredictorConfig, evals: Pairs) -> tuple[dict, dict, dict]:
    """P(correct) of every requested baseline on the pairs ``evals``; (predictions, chosen settings, seconds).

    Each baseline gets its own progress bar (a plain line every few seconds in a log, and one when it ends,
    with its time): on a large matrix kNN, the logistic fits and the IRT model run for minutes, longer than
    the predictor's own training.
    """
    tr, va = data.train, data.val
    m = len(data.models)
    emb = data.embeddings
    tr_rows, tr_q = _rows(tr)
    va_rows, va_q = _rows(va)
    ev_rows, ev_q = _rows(evals)
    tr_emb, va_emb, ev_emb = emb[tr_rows], emb[va_rows], emb[ev_rows]
    preds, chosen, seconds = {}, {}, {}
    grid = [k for k in baselines.KNN_GRID if k <= config.knn_k] or [config.knn_k]
    units = dict(knn=(baselines.knn_units(len(va_rows), len(ev_rows), len(grid)), "block"),
                 logistic=(m * len(baselines.LOGISTIC_C_GRID), "fit"), irt=(None, "L-BFGS step"))
    for i, name in enumerate(config.baselines, 1):
        total, unit = units.get(name, (1, "fit"))
        bar = progress(total=total, desc=f"baseline {i}/{len(config.baselines)}: {BASELINE_LABELS[name]}",
                       unit=unit, enabled=config.progress)
        t0 = time.perf_counter()
        if name == "base_rate":
            p = baselines.base_rate(tr.model_id, tr.correct, evals.model_id, m)
        elif name == "dataset_base_rate":
            p, used = baselines.dataset_base_rate(tr.model_id, tr.dataset, tr.correct, evals.model_id,
                                                  evals.dataset, m)
            chosen[name] = {"used_datasets": bool(used)}
        elif name == "knn":
            p, k, _ = baselines.knn_tuned(tr_emb, tr_q, tr.model_id, tr.correct, va_emb, va_q, va.model_id,
                                          va.correct, ev_emb, ev_q, evals.model_id, m, ks=grid, tick=bar.update)
            chosen[name] = {"k": int(k)}
        elif name == "logistic":
            p, c = baselines.logistic_per_model(tr_emb, tr_q, tr.model_id, tr.correct, va_emb, va_q, va.model_id,
                                                va.correct, ev_emb, ev_q, evals.model_id, m, tick=bar.update)
            chosen[name] = {"C": float(c)}
        elif name == "irt":
            irt = fit_irt(tr.model_id, tr_q, tr.correct, tr_emb, va.model_id, va_q, va.correct, va_emb, m,
                          seed=config.seed, tick=bar.update)
            p = irt.predict(evals.model_id, ev_q, ev_emb)
            chosen[name] = {"l2": float(irt.l2)}
        else:  # pragma: no cover - the config's choices keep this out
            raise ValueError(name)
        label = BASELINE_LABELS[name]
        if name == "knn":
            label = f"kNN (k={chosen[name]['k']})"
        preds[label] = np.asarray(p, np.float64)
        seconds[label] = time.perf_counter() - t0
        if total == 1:
            bar.update(1)
        bar.close()
    return preds, chosen, seconds


def evaluate_all(data: TrainingData, result: TrainResult, config: PredictorConfig) -> Evaluation:
    """Calibrate the trained predictor on validation, then score it and the baselines on val and test."""
    dev = result.device
    emb = torch.from_numpy(data.model_inputs(result.model)).to(dev)

    def logits(pairs: Pairs) -> np.ndarray:
        return predict_logits(result.model, emb, torch.from_numpy(pairs.model_id).to(dev),
                              torch.from_numpy(pairs.q_row).to(dev), config.eval_batch_size)

    z_val = logits(data.val)
    temperature = fit_temperature(z_val, data.val.correct) if config.resolved_calibration() == "temperature" else 1.0
    test = data.test if data.test is not None and len(data.test) else None
    label = predictor_label(result.arch)
    preds = {"val": {label: apply_temperature(z_val, temperature)}}
    if test is not None:
        preds["test"] = {label: apply_temperature(logits(test), temperature)}
    # One fit per baseline scores validation and test together (their settings are chosen on validation).
    evals = _concat(data.val, test) if test is not None else data.val
    base, chosen, seconds = baseline_predictions(data, config, evals)
    n_val = len(data.val)
    for name, p in base.items():
        preds["val"][name] = p[:n_val]
        if test is not None:
            preds["test"][name] = p[n_val:]
    val = {name: pair_metrics(data.val, p) for name, p in preds["val"].items()}
    tst = {name: pair_metrics(test, p) for name, p in preds["test"].items()} if test is not None else None
    chosen[label] = {"temperature": float(temperature), "best_epoch": result.best_epoch}
    return Evaluation(val=val, test=tst, temperature=float(temperature), chosen=chosen, seconds=seconds,
                      predictions=preds)
