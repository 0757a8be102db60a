"""Stage 4: load the split, train the predictor, calibrate it, evaluate it against baselines, write its files.

Reads DDCF_data/correctness/{train,val,test}.parquet, DDCF_data/model_order.csv and the seed
embeddings; writes the weights, config, metrics and training curve at the paths of
:class:`ddcf.layout.Layout` (``predictor_weights``, ``predictor_config``, ``predictor_metrics``,
``predictor_curve``).
"""

from __future__ import annotations

import numpy as np

from ddcf import __version__
from ddcf.io import json_safe, write_json
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.data import coverage_warnings, load_training_data
from ddcf.predictor.evaluation import Evaluation, evaluate_all, predictor_label
from ddcf.predictor.features import TEXT_FEATURES, TEXT_FEATURES_VERSION
from ddcf.predictor.metrics import format_table
from ddcf.predictor.plots import plot_factor_curve, plot_reliability, plot_training_curve
from ddcf.predictor.store import save_predictor
from ddcf.predictor.train import train_predictor
from ddcf.predictor.verdict import baseline_check
from ddcf.predictor.verdict import warning as beaten_warning

SCRIPT = "train_correctness_predictor.py"


def run(layout: Layout, config: PredictorConfig) -> Report:
    """The whole stage. ``report.details`` holds ``results`` (test metrics per method, or validation metrics
    without a test split), ``val_results``, ``test_results``, ``temperature``, ``best_epoch``, ``history``,
    ``stats`` (split sizes), ``device``, ``threads`` and ``train_seconds``."""
    config.validate()
    data = load_training_data(layout)
    result = train_predictor(data, config)
    ev = evaluate_all(data, result, config)
    label = predictor_label(result.arch)
    training = config.training_options()
    training.update(resolved_device=result.device, resolved_threads=result.threads,
                    resolved_noise_prefetch=result.noise_prefetch)
    warnings = coverage_warnings(data.stats, layout.model_order)
    warnings += _split_warnings(data.stats, layout)
    if data.val.correct.min() == data.val.correct.max():
        warnings.append("every validation answer has the same label, so the AUCs are undefined (written as null); "
                        "the accuracy alone says little. Use more varied verdicts or another --val_ratio/--seed "
                        "in create_training_data.py.")
    check = _baseline_check(data, result.arch, ev, label)
    if beaten_warning(check):
        warnings.append(beaten_warning(check))
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
            # What the question encoder reads besides the embedding (difficulty computes the same from the corpus).
            text_features=(dict(names=list(TEXT_FEATURES), version=TEXT_FEATURES_VERSION)
                           if getattr(result.model, "n_text", 0) else None),
            split=dict(sha256=data.split_sha256, train=str(layout.train_split), val=str(layout.val_split),
                       test=str(layout.test_split) if data.stats["has_test_split"] else None,
                       **{k: data.stats[k] for k in ("n_train", "n_val", "n_test", "n_train_questions",
                                                     "n_val_questions", "n_test_questions")}),
            best_epoch=result.best_epoch,
            best_epochs=result.best_epochs,
            calibration=dict(method=config.resolved_calibration(), temperature=ev.temperature,
                             fitted_on="validation split"),
            best_val_accuracy=ev.val[label]["accuracy"],
            test_metrics=(ev.test or {}).get(label),
        )),
    )
    metrics = dict(
        arch=result.arch,
        best_epoch=result.best_epoch,
        best_epochs=result.best_epochs,
        temperature=ev.temperature,
        train_seconds=result.seconds,
        threads=result.threads,
        device=result.device,
        noise_prefetch=result.noise_prefetch,
        epochs=result.history,
        member_epochs=result.histories,
        final=ev.reported,
        final_split="test" if ev.test is not None else "validation",
        validation=ev.val,
        test=ev.test,
        chosen_on_validation=ev.chosen,
        baseline_seconds=ev.seconds,
        # read by ddcf summary and the selection report without recomputing (ddcf.predictor.verdict)
        beaten_by=check["beaten_by"],
        baseline_check=check,
        data=data.stats,
        weights_sha256=cfg["weights_sha256"],
    )
    files = [layout.predictor_weights, layout.predictor_config,
             write_json(json_safe(metrics), layout.predictor_metrics)]
    if not config.no_plot:
        if result.arch == "paper":
            files.append(plot_training_curve(result.history, result.best_epoch, layout.predictor_curve))
        else:
            files.append(plot_factor_curve(result.histories, layout.predictor_curve))
        files.append(_reliability(ev, data, layout))
    return Report(
        stage="predictor",
        summary=_summary(data.stats, config, result, ev),
        files=files,
        warnings=warnings,
        config_dir=layout.predictor_dir,
        details=dict(results=ev.reported, val_results=ev.val, test_results=ev.test, temperature=ev.temperature,
                     best_epoch=result.best_epoch, history=result.history, stats=data.stats,
                     device=result.device, threads=result.threads, train_seconds=result.seconds),
        seconds=result.seconds,
    )


def _baseline_check(data, arch: str, ev: Evaluation, label: str) -> dict:
    """Whether a baseline beats the predictor on the reported split (test, else validation), with the size of
    the matrix it learned from."""
    splits = [data.train, data.val] + ([data.test] if data.test is not None else [])
    matrix = dict(models=len(data.models),
                  questions=int(len(np.unique(np.concatenate([s.q_row for s in splits])))),
                  pairs=int(sum(len(s) for s in splits)))
    return baseline_check(ev.reported, label, "test" if ev.test is not None else "validation", matrix, arch,
                          (data.embedding_info or {}).get("embedding_model"))


def _reliability(ev: Evaluation, data, layout: Layout):
    split = "test" if ev.test is not None else "val"
    pairs = data.test if split == "test" else data.val
    curves = {name: (pairs.correct, p) for name, p in ev.predictions[split].items()}
    return plot_reliability(curves, layout.predictor_reliability,
                            title=f"Reliability on the {'test' if split == 'test' else 'validation'} questions")


def _split_warnings(stats: dict, layout: Layout) -> list[str]:
    if not stats["has_test_split"]:
        return [f"there is no test split ({layout.test_split} is missing: the matrix was built by an older ddcf), so "
                "the reported figures are validation figures, which also chose the epoch and the calibration and are "
                "therefore slightly optimistic. Rerun create_training_data.py (it writes train/val/test) and this "
                "command for honest figures."]
    if stats["n_test"] == 0:
        return ["the test split is empty (create_training_data.py --test_ratio 0), so the reported figures are "
                "validation figures, which also chose the epoch and the calibration (slightly optimistic)."]
    if stats["test_questions_also_in_train_or_val"]:
        return [f"{stats['test_questions_also_in_train_or_val']} test questions also occur in the training or "
                "validation split: the test figures are not held-out figures. Rerun create_training_data.py."]
    return []


def _summary(s: dict, config: PredictorConfig, result, ev: Evaluation) -> str:
    what = (f"{config.epochs} epochs, best epoch {result.best_epoch}" if result.arch == "paper" else
            f"{config.ensemble} member(s), best epochs {', '.join(map(str, result.best_epochs or []))}")
    lines = [
        f"arch {result.arch}: trained on {s['n_train']:,} pairs ({s['n_train_questions']:,} questions); validation "
        f"{s['n_val']:,} pairs ({s['n_val_questions']:,} questions) chose epochs, calibration and baseline settings; "
        f"test {s['n_test']:,} pairs ({s['n_test_questions']:,} questions) only reported.",
        f"{what}; {result.seconds:.1f} s on {result.device} ({result.threads} threads); "
        f"calibration: {config.resolved_calibration()}"
        + (f" (T = {ev.temperature:.3f})" if config.resolved_calibration() != "none" else ""),
    ]
    if s["val_questions_also_in_train"]:
        lines.append(f"note: {s['val_questions_also_in_train']} validation questions also occur in the training "
                     "split.")
    if ev.seconds:
        lines.append("baselines fitted in " + ", ".join(f"{name} {sec:.1f} s" for name, sec in ev.seconds.items())
                     + f" ({sum(ev.seconds.values()):.1f} s in all)")
    if ev.test is not None:
        lines.append("\ntest metrics (held-out questions; the figures to quote):\n" + format_table(ev.test))
    lines.append("\nvalidation metrics (used for choices, slightly optimistic):\n" + format_table(ev.val))
    return "\n".join(lines)
