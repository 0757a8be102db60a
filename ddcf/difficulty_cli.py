"""Stage 5: predicted correctness of every corpus question for one model (or all models).

Reads DDCF_data/predictor/ and DDCF_data/embeddings/corpus.npy; writes
factorized_data/<model>.parquet (question_id, predicted_correctness) and a histogram PNG.
"""

from __future__ import annotations

import argparse

from ddcf.cli import add_workdir_arg
from ddcf.layout import Layout


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Score every corpus question with the trained correctness predictor: lower predicted "
        "correctness = harder for that model.",
    )
    add_workdir_arg(parser)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--model_name", default=None, help="Target model, exactly as in DDCF_data/model_order.csv.")
    who.add_argument("--all_models", action="store_true", help="Score the corpus for every model the predictor knows.")
    parser.add_argument("--save_factorized_embeddings", action="store_true",
                        help="Also write the factorized question embeddings (question-encoder output) to "
                        "factorized_data/question_embeddings.npy.")
    parser.add_argument("--chunk_size", type=int, default=32768, help="Corpus questions per forward pass (default: 32768).")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, or cuda[:N] (default: auto).")
    parser.add_argument("--no_progress", action="store_true", help="Hide the progress bar.")
    parser.add_argument("--no_plot", action="store_true", help="Do not write histogram PNGs.")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from ddcf.difficulty import run_difficulty

    layout = Layout.from_arg(args.workdir)
    report = run_difficulty(
        layout, model_name=args.model_name, all_models=args.all_models,
        save_factorized=args.save_factorized_embeddings, chunk_size=args.chunk_size, device=args.device,
        progress=not args.no_progress, plot=not args.no_plot,
    )
    for w in report.warnings:
        print(f"warning: {w}")
    print(f"\nscored {report.n_questions:,} corpus questions for {len(report.models)} model(s) in {report.seconds:.1f} s")
    table = report.summary
    if len(report.models) > 8:  # keep one screen: per-dataset rows only for a few models
        table = table[table["dataset"] == "(all)"]
    print("\npredicted correctness (lower = harder):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nwrote {len(report.files)} file(s) under {layout.factorized}")
    return 0
