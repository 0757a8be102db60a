#!/usr/bin/env python
"""Stage 2: binary correctness matrix, model order and train/validation split.

    python create_training_data.py                       # from infer.py's verdict tables
    python create_training_data.py --correctness_table my_matrix.csv
    python create_training_data.py --config DDCF_data/correctness/matrix.config.yaml   # repeat a run

The options are in ddcf/matrix/config.py; the stage itself is ddcf/matrix/stage.py.
"""

from ddcf.cli import run_main
from ddcf.matrix.cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
