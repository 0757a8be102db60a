#!/usr/bin/env python
"""Write the bundled real seed and corpus question tables into a work directory.

    python scripts/install_bundled_data.py --workdir demo_run

Seed questions: GSM8K test + MATH Level 5 test (from the bundled ZeroEval outputs).
Corpus: GSM8K train + MATH train + AIME 1983-2023, about 16k questions with solutions.
Also pre-fills the embedding cache with the shipped corpus vectors (see ddcf/data/bundled.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ddcf.cli import add_workdir_arg, run_main  # noqa: E402
from ddcf.data.bundled import install_bundled_embedding_cache, install_bundled_questions  # noqa: E402
from ddcf.layout import Layout  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_workdir_arg(p)
    p.add_argument("--no_embedding_cache", action="store_true",
                   help="Do not pre-fill the embedding cache with the shipped corpus vectors (then stage 3 embeds "
                   "all ~18k questions itself: 6-15 minutes on 2 CPU cores).")
    args = p.parse_args(argv)
    layout = Layout.from_arg(args.workdir)
    counts = install_bundled_questions(layout)
    print(f"Stage 0 - bundled questions: {counts['seed_questions']} seed -> {layout.seed_questions}")
    print(f"                             {counts['corpus_questions']} corpus -> {layout.corpus_questions}")
    if not args.no_embedding_cache:
        n = install_bundled_embedding_cache(layout)
        print(f"                             {n} shipped corpus vectors (all-MiniLM-L6-v2) -> {layout.embedding_shards}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
