"""Command line of stage 6 (k_greedy_selection.py)."""

from __future__ import annotations

import argparse

from ddcf.cli import add_workdir_arg
from ddcf.layout import Layout


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="k_greedy_selection.py",
        description="Pick k corpus questions that are hard for the target model and diverse (paper eq. 5): "
        "repeatedly add the question with the smallest lamda * predicted_correctness + (1 - lamda) * "
        "max cosine similarity to the questions already picked. Writes the selection, an SFT-ready "
        "Hugging Face dataset and a report next to a random subset of the same pool.",
    )
    add_workdir_arg(p)
    p.add_argument("--model_name", required=True,
                   help="Target model; reads factorized_data/<model>.parquet from fullcorpus_difficulty_estimation.py.")
    p.add_argument("--lamda", type=float, default=0.2,
                   help="Weight of difficulty vs diversity in [0, 1]: 1 = hardest first, 0 = most diverse (default 0.2).")
    p.add_argument("--num_select", type=int, default=1000, help="Number of questions k to select (default 1000).")
    p.add_argument("--max_score", type=float, default=1.0,
                   help="Candidate pool: only questions with predicted correctness <= this (default 1.0 = all).")
    p.add_argument("--seed", type=int, default=0, help="Seed of the random k-subset shown next to the selection (default 0).")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA through torch when available, else the exact lazy CPU selector), cpu or cuda.")
    p.add_argument("--output_dir", default=None,
                   help="Where to write the outputs (default DDCF_data/selection/<model>/lamda<l>_k<k>).")
    p.add_argument("--chat_template", default="chatml",
                   help="Template of the dataset's text column: 'chatml' (built in, default) or the path of a "
                   "Jinja chat template file.")
    p.add_argument("--tokenizer", default=None,
                   help="Local tokenizer folder whose own chat template renders the text column instead.")
    p.add_argument("--no_progress", action="store_true", help="Hide the progress bar.")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from ddcf.select.stage import run_selection

    run = run_selection(
        Layout.from_arg(args.workdir), args.model_name, lamda=args.lamda, k=args.num_select,
        max_score=args.max_score, seed=args.seed, device=args.device, output_dir=args.output_dir,
        chat_template=args.chat_template, tokenizer=args.tokenizer, progress=not args.no_progress,
    )
    print()
    print(run.summary)
    for w in run.report["warnings"]:
        print(f"  warning: {w}")
    print(f"\n  wrote {run.output_dir}/: selection.parquet, dataset/ (Hugging Face, column 'text'), report.json, report.png")
    return 0
