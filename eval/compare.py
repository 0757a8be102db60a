"""Gather several evaluation runs into one Table 2 (best per column in bold) and a bar chart.

    python eval/compare.py RUN_DIR [RUN_DIR ...] [--labels base,random,ddcf] [--output_dir DIR]

Same as ``ddcf compare``; the code is ddcf/evaluate/compare_stage.py.
"""

from __future__ import annotations

from ddcf.cli import run_main
from ddcf.evaluate.compare_cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
