#!/usr/bin/env python
"""Write the bundled real seed and corpus question tables into a work directory.

    python scripts/install_bundled_data.py --workdir demo_run

Seed questions: GSM8K test + MATH Level 5 test (from the bundled ZeroEval outputs).
Corpus: GSM8K train + MATH train + AIME 1983-2023, about 16k questions with solutions.
Also pre-fills the embedding cache with the shipped corpus vectors (see ddcf/bundled/files.py).
The options are in ddcf/bundled/config.py; the step itself is ddcf/bundled/stage.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Runs from a checkout without `pip install -e .` too (scripts/ is not the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ddcf.bundled.cli import main
from ddcf.cli import run_main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
