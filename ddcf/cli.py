"""The ``ddcf`` command (``ddcf <stage> [options]``) and the error handling every front end shares.

Each subcommand is the same :class:`ddcf.pipeline.StageCommand` that a top-level script runs, so
``ddcf select ...`` and ``python k_greedy_selection.py ...`` are one code path.
"""

from __future__ import annotations

import importlib
import sys
from typing import Callable, Sequence

from ddcf import __version__
from ddcf.errors import DDCFError

#: subcommand -> (module holding ``command``, the top-level script that runs the same stage, what it does)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "download": ("ddcf.download.cli", "download_ddcf_math_from_hf.py", "stage 0: seed/corpus questions from the Hub"),
    "download-correctness": ("ddcf.download_correctness.cli", "download_binary_correctness_from_hf.py",
                             "stage 0': published verdict tables from the Hub"),
    "verify": ("ddcf.verify.cli", "infer.py --completions PATH", "stage 1: grade existing completions"),
    "generate": ("ddcf.generate.cli", "infer.py --model_name M", "stage 1: answer the seed questions with an LLM"),
    "passrate": ("ddcf.generate.passrate_cli", "python -m ddcf.generate.passrate", "pass-rate buckets per model"),
    "matrix": ("ddcf.matrix.cli", "create_training_data.py", "stage 2: correctness matrix and split"),
    "embed": ("ddcf.embed.cli", "get_question_embeddings.py", "stage 3: question embeddings"),
    "predictor": ("ddcf.predictor.cli", "train_correctness_predictor.py", "stage 4: train the correctness predictor"),
    "difficulty": ("ddcf.difficulty.cli", "fullcorpus_difficulty_estimation.py",
                   "stage 5: predicted correctness of the corpus"),
    "select": ("ddcf.select.cli", "k_greedy_selection.py", "stage 6: k-greedy difficulty/diversity selection"),
    "summary": ("ddcf.summary.cli", "python -m ddcf.summary", "one-screen summary of a run"),
    "install-bundled": ("ddcf.bundled.cli", "scripts/install_bundled_data.py", "install the bundled demo data"),
    "score": ("ddcf.score.cli", "ddcf score", "target-model log-probabilities of corpus responses"),
    "sft": ("ddcf.sft.cli", "train/sft.py", "stage 7: TRL supervised fine-tuning on a selection"),
    "evaluate": ("ddcf.evaluate.cli", "eval/evaluate.py", "stage 8: the ten math benchmarks, pass@k"),
    "compare": ("ddcf.evaluate.compare_cli", "eval/compare.py", "one results table of several evaluation runs"),
    "report": ("ddcf.report.cli", "ddcf report SELECTION_DIR...", "selection report: figures and index.html"),
    "distill": ("ddcf.distill.cli", "ddcf distill SELECTION_DIR --teacher M", "teacher responses for a selection"),
    "push": ("ddcf.push.cli", "ddcf push matrix|predictor|selection", "publish an artifact to the Hub, with a card"),
    "pull": ("ddcf.pull.cli", "ddcf pull predictor REPO", "fetch a published predictor into the layout"),
    "probe": ("ddcf.probe.cli", "ddcf probe plan|fit|budget",
              "cold-start a new target model from a probe set; plan a seed budget"),
}


def run_main(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run a front end's ``main``; a :class:`DDCFError` becomes a one-paragraph message and exit code 2."""
    try:
        code = main(argv)
    except DDCFError as exc:
        prog = sys.argv[0].rsplit("/", 1)[-1] if sys.argv and sys.argv[0] else "ddcf"
        print(f"\nerror ({prog}): {exc.render()}\n", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished work is saved; rerun the same command to resume.", file=sys.stderr)
        return 130
    return int(code or 0)


def _usage() -> str:
    lines = ["usage: ddcf <command> [options]   (ddcf <command> --help for its options)", "", "commands:"]
    for name, (_, script, what) in SUBCOMMANDS.items():
        lines.append(f"  {name:16s} {what:50s} same as: {script}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(f"ddcf {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"error (ddcf): there is no command '{name}'. Fix: use one of {', '.join(SUBCOMMANDS)} "
              "(ddcf --help lists them).", file=sys.stderr)
        return 2
    command = importlib.import_module(SUBCOMMANDS[name][0]).command
    return run_main(lambda a: command.main(a, prog=f"ddcf {name}"), rest)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
