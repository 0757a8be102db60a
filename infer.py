"""Stage 1: per-model verdict tables (see ``python infer.py --help``).

Precomputed mode: ``python infer.py --completions data/bundled/seed_completions.parquet``.
"""

from ddcf.cli import run_main
from ddcf.infer_cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
