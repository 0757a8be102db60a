"""Command line of stage 2 (create_training_data.py)."""

from __future__ import annotations

import argparse

from ddcf.cli import add_workdir_arg
from ddcf.layout import Layout
from ddcf.matrix import build_matrix


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="create_training_data.py",
        description="Build the long-format binary correctness matrix, DDCF_data/model_order.csv and a by-question "
        "train/validation split (stage 2).",
    )
    add_workdir_arg(p)
    p.add_argument(
        "--correctness_table",
        default=None,
        help="Your own correctness data instead of infer.py's verdict tables: one long CSV/Parquet table with "
        "columns model, question_id, question, correct (dataset and gold optional). Missing pairs are fine.",
    )
    p.add_argument("--models", default=None, help="Comma-separated subset of models to keep (default: all).")
    p.add_argument("--val_ratio", type=float, default=0.1, help="Share of questions held out for validation (default 0.1).")
    p.add_argument("--seed", type=int, default=42, help="Seed of the question split (default 42).")
    p.add_argument(
        "--pass_threshold",
        type=float,
        default=0.5,
        help="A (model, question) with several verdicts (n samples) counts as correct when its pass rate >= this "
        "(default 0.5).",
    )
    p.add_argument(
        "--from_pass_rates",
        action="store_true",
        help="Build the matrix from the *.passrate.parquet tables of sampled generation (infer.py --n K), "
        "thresholded with --pass_threshold.",
    )
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    layout = Layout.from_arg(args.workdir)
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    res = build_matrix(
        layout,
        correctness_table=args.correctness_table,
        models=models,
        val_ratio=args.val_ratio,
        seed=args.seed,
        pass_threshold=args.pass_threshold,
        from_pass_rates=args.from_pass_rates,
    )
    m = res.matrix
    n_models = m["model"].nunique()
    n_q = m["question_id"].nunique()
    print("\nStage 2 - correctness matrix")
    print(f"  source            {res.source}")
    print(f"  models            {n_models}")
    print(f"  questions         {n_q}  (train {res.n_train_questions}, val {res.n_val_questions})")
    print(f"  observed pairs    {len(m)}  ({len(m) / max(1, n_models * n_q):.1%} of the full matrix)")
    print(f"  overall accuracy  {m['correct'].mean():.3f}")
    for ds, g in m.groupby("dataset"):
        print(f"    {ds:14s}  {g['question_id'].nunique():6d} questions  accuracy {g['correct'].mean():.3f}")
    empty = res.model_order.loc[res.model_order["n_answered"] == 0, "model"].tolist()
    if empty:
        print(f"  note: {len(empty)} model(s) listed in model_order.csv have no verdicts yet: {', '.join(empty[:5])}"
              f"{' ...' if len(empty) > 5 else ''}")
    print(f"  wrote {layout.matrix}, {layout.train_split.name}, {layout.val_split.name}, {layout.model_order}")
    return 0
