#!/usr/bin/env python
"""Stage 4: train the correctness predictor (paper App. A.1) and compare it with simple baselines.

Reads DDCF_data/correctness/{train,val}.parquet, DDCF_data/model_order.csv and the seed
embeddings; writes DDCF_data/predictor/ (model.safetensors, config.json, metrics.json,
training_curve.png, predictor.config.yaml). Code: ddcf/predictor/ (stage.py runs it).
"""

from ddcf.cli import run_main
from ddcf.predictor.cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
