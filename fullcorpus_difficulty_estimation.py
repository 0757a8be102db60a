#!/usr/bin/env python
"""Stage 5: predicted correctness of every corpus question for one model (or all models).

Reads DDCF_data/predictor/ and DDCF_data/embeddings/corpus.npy; writes
factorized_data/<model>.parquet (question_id, predicted_correctness), a histogram PNG and
difficulty.config.yaml. Code: ddcf/difficulty/ (stage.py runs it).
"""

from ddcf.cli import run_main
from ddcf.difficulty.cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
