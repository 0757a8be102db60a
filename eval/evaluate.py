"""Evaluate a model on the paper's ten math benchmarks (Table 2).

    python eval/evaluate.py --model_name_or_path M [--benchmarks all|a,b] [--backend auto|sglang|vllm|hf|dummy]
        [--n N] [--k K] [--limit L] [--output_dir DIR]

Writes DIR/predictions.parquet and DIR/results.{md,csv,json}; resumes from DIR/shards/.  Same as
``ddcf evaluate``; the code is ddcf/evaluate/ (options: ddcf/evaluate/config.py).
"""

from __future__ import annotations

from ddcf.cli import run_main
from ddcf.evaluate.cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
