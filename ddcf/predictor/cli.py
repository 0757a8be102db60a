"""Stage 4: train the correctness predictor (paper App. A.1) and compare it with simple baselines.

Reads DDCF_data/correctness/{train,val}.parquet, DDCF_data/model_order.csv and the seed
embeddings; writes DDCF_data/predictor/ (model.safetensors, config.json, metrics.json,
training_curve.png).
"""

from __future__ import annotations

import argparse

from ddcf.cli import add_workdir_arg
from ddcf.layout import Layout
from ddcf.predictor.config import add_config_arguments, config_from_args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train the correctness predictor on the train split, keep the epoch with the best "
        "validation accuracy, and report it side by side with base-rate and kNN baselines.",
    )
    add_workdir_arg(parser)
    add_config_arguments(parser)
    parser.add_argument("--no_progress", action="store_true", help="Hide the progress bar.")
    parser.add_argument("--no_plot", action="store_true", help="Do not write the training-curve PNG.")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    from ddcf.predictor.train import run_training

    layout = Layout.from_arg(args.workdir)
    report = run_training(layout, config, progress=not args.no_progress, plot=not args.no_plot)
    s = report.stats
    print(
        f"\ntrained on {s['n_train']:,} pairs ({s['n_train_questions']:,} questions), validated on "
        f"{s['n_val']:,} pairs ({s['n_val_questions']:,} questions); {config.epochs} epochs in "
        f"{report.seconds:.1f} s on {report.device} ({report.threads} threads); best epoch {report.best_epoch}."
    )
    if s["val_questions_also_in_train"]:
        print(f"note: {s['val_questions_also_in_train']} validation questions also occur in the training split.")
    print("\nvalidation metrics:\n" + report.table())
    print("\nwrote " + ", ".join(str(p) for p in report.files))
    return 0
