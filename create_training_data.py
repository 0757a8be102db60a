#!/usr/bin/env python
"""Stage 2: binary correctness matrix, model order and train/validation split.

    python create_training_data.py                       # from infer.py's verdict tables
    python create_training_data.py --correctness_table my_matrix.csv
"""

from ddcf.cli import run_main
from ddcf.matrix_cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
