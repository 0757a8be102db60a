"""Stage 4: load the split, train the predictor, evaluate it against baselines, write its files.

Reads DDCF_data/correctness/{train,val}.parquet, DDCF_data/model_order.csv and the seed
embeddings; writes the weights, config, metrics and training curve at the paths of
:class:`ddcf.layout.Layout` (``predictor_weights``, ``predictor_config``, ``predictor_metrics``,
``predictor_curve``).
"""

from __future__ import annotations

from ddcf import __version__
from ddcf.io import json_safe, write_json
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.data import coverage_warnings, load_training_data
from ddcf.predictor.evaluation import PREDICTOR, evaluate_all
from ddcf.predictor.metrics import format_table
from ddcf.predictor.plots import plot_training_curve
from ddcf.predictor.store import save_predictor
from ddcf.predictor.train import train_predictor

SCRIPT = "train_correctness_predictor.py"


def run(layout: Layout, config: PredictorConfig) -> Report:
    """The whole stage. ``report.details`` holds ``results`` (validation metrics per method),
    ``best_epoch``, ``history``, ``stats`` (split sizes), ``device``, ``threads`` and ``train_seconds``."""
    config.validate()
    data = load_training_data(layout)
    result = train_predictor(data, config)
    results, extra = evaluate_all(data, result, config)
    training = config.training_options()
    training.update(resolved_device=result.device, resolved_threads=result.threads,
                    resolved_noise_prefetch=result.noise_prefetch, resolved_step=result.step)
    warnings = coverage_warnings(data.stats, layout.model_order)
    if data.val.correct.min() == data.val.correct.max():
        warnings.append("every validation answer has the same label, so the AUCs are undefined (written as null); "
                        "the accuracy alone says little. Use more varied verdicts or another --val_ratio/--seed "
                        "in create_training_data.py.")
    cfg = save_predictor(
        result.model,
        layout.predictor_weights,
        layout.predictor_config,
        json_safe(dict(
            created_by=f"ddcf {__version__} {SCRIPT}",
            models=data.models,
            # difficulty and selection refuse a model the predictor never saw an answer of
            models_with_training_rows=data.stats["models_with_training_rows"],
            one_class_models=data.stats["one_class_models"],
            train_rows_per_model=data.stats["train_rows_per_model"],
            training=training,
            embedding=data.embedding_info,
            split=dict(sha256=data.split_sha256, train=str(layout.train_split), val=str(layout.val_split),
                       **{k: data.stats[k] for k in ("n_train", "n_val", "n_train_questions", "n_val_questions")}),
            best_epoch=result.best_epoch,
            best_val_accuracy=results[PREDICTOR]["accuracy"],
        )),
    )
    metrics = dict(
        best_epoch=result.best_epoch,
        train_seconds=result.seconds,
        threads=result.threads,
        device=result.device,
        noise_prefetch=result.noise_prefetch,
        epochs=result.history,
        final=results,
        data=data.stats,
        weights_sha256=cfg["weights_sha256"],
        **extra,
    )
    files = [layout.predictor_weights, layout.predictor_config,
             write_json(metrics, layout.predictor_metrics)]
    if not config.no_plot:
        files.append(plot_training_curve(result.history, result.best_epoch, layout.predictor_curve))
    return Report(
        stage="predictor",
        summary=_summary(data.stats, config, result, results),
        files=files,
        warnings=warnings,
        config_dir=layout.predictor_dir,
        details=dict(results=results, best_epoch=result.best_epoch, history=result.history, stats=data.stats,
                     device=result.device, threads=result.threads, train_seconds=result.seconds),
        seconds=result.seconds,
    )


def _summary(s: dict, config: PredictorConfig, result, results: dict) -> str:
    lines = [
        f"trained on {s['n_train']:,} pairs ({s['n_train_questions']:,} questions), validated on "
        f"{s['n_val']:,} pairs ({s['n_val_questions']:,} questions); {config.epochs} epochs in "
        f"{result.seconds:.1f} s on {result.device} ({result.threads} threads); best epoch {result.best_epoch}."
    ]
    if s["val_questions_also_in_train"]:
        lines.append(f"note: {s['val_questions_also_in_train']} validation questions also occur in the training "
                     "split.")
    lines.append("\nvalidation metrics:\n" + format_table(results))
    return "\n".join(lines)
