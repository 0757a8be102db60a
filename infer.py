"""Stage 1: per-model verdict tables (see ``python infer.py --help``).

Precomputed mode: ``python infer.py --completions data/bundled/seed_completions.parquet``.
Generation mode:  ``python infer.py --model_name Qwen/Qwen2.5-Math-7B``.
"""

from ddcf.cli import run_main
from ddcf.infer import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
