#!/usr/bin/env python
"""Stage 5: predicted correctness of every corpus question for one model (or all models).

Reads DDCF_data/predictor/ and DDCF_data/embeddings/corpus.npy; writes
factorized_data/<model>.parquet (question_id, predicted_correctness) and a histogram PNG.
"""

from ddcf.cli import run_main
from ddcf.difficulty_cli import build_parser, main  # noqa: F401  (build_parser: for docs and tests)

if __name__ == "__main__":
    raise SystemExit(run_main(main))
