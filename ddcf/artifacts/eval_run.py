"""An evaluation run's folder (``ddcf evaluate`` / eval/evaluate.py ``--output_dir``): ``predictions.parquet``
(one row per benchmark question: completion, prediction, verdict) and ``results.{json,md,csv}`` (Table 2's
layout; results.json holds every metric and the provenance).  Written by :func:`write_results`; read by
``ddcf compare`` and train/run.sh through :func:`read_results`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ddcf.errors import DDCFError
from ddcf.io import read_side_file, write_csv, write_json, write_parquet, write_text
from ddcf.layout import Layout

FIX = "rerun eval/evaluate.py with the same --output_dir (it rewrites results.json from its shards)."


def results_path(run_dir: Path, ext: str = "json") -> Path:
    return Layout.eval_results(Path(run_dir), ext)


def predictions_path(run_dir: Path) -> Path:
    return Layout.eval_predictions(Path(run_dir))


def read_results(run_dir: str | Path, fix: str = FIX) -> dict:
    """results.json, validated: a JSON object whose 'benchmarks' is an object of objects and whose 'warnings'
    (when present) is a list of texts."""
    path = results_path(Path(run_dir))
    if not path.is_file():
        raise DDCFError(f"{run_dir} is no evaluation run folder (it has no {path.name}).",
                        "pass folders written by eval/evaluate.py --output_dir DIR (finish that run first).")
    res = read_side_file(path, "evaluation results", fix, expect=dict)
    benches = res.get("benchmarks")
    if not isinstance(benches, dict) or not all(isinstance(v, dict) for v in benches.values()):
        raise DDCFError(f"{path} holds no per-benchmark results (its 'benchmarks' is not an object of objects).", fix)
    warnings = res.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise DDCFError(f"{path}: its 'warnings' is not a list of texts.", fix)
    return res


def write_results(run_dir: Path, predictions: pd.DataFrame, model: str, results: dict, markdown: str,
                  table: pd.DataFrame) -> list[Path]:
    """predictions.parquet, results.json, results.md and results.csv, each atomically (results.json is what
    marks a finished evaluation to train/run.sh)."""
    return [write_parquet(predictions, predictions_path(run_dir), metadata={"model": model}),
            write_json(results, results_path(run_dir, "json")),
            write_text(markdown, results_path(run_dir, "md")),
            write_csv(table, results_path(run_dir, "csv"))]
