"""Shared loading code of the predictor benchmarks (bench_predictor_quality.py, bench_predictor_scaling.py).

* :func:`ensure_workdir`: a work directory with the correctness matrix, the model order and the seed
  embeddings.  Without ``--workdir`` one is built from the bundled real data (ZeroEval GSM8K-test and
  MATH-Level-5-test answers) in ``$TMPDIR/ddcf_bench_predictor`` by running the stage scripts, and reused
  when it is already complete.
* :func:`load_matrix`: the long matrix, its model order, the embeddings and the pass rates (when n > 1).
* :func:`make_data`: TrainingData for a question split of the rows (``split_by_question``), optionally
  restricted to some models / some training questions, with model ids renumbered 0..m-1.
* :func:`summarise`: mean and sd over seeds; :func:`tied`: the "tied within noise" rule.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without `pip install -e .`

from ddcf.io import load_embeddings  # noqa: E402
from ddcf.layout import Layout  # noqa: E402
from ddcf.matrix.split import split_by_question  # noqa: E402
from ddcf.predictor.data import TrainingData, build_training_data, matrix_pass_rates, seed_texts  # noqa: E402

#: the pipeline stages that build a benchmark work directory from the bundled data, in order
STAGES = (
    ("scripts/install_bundled_data.py", []),
    ("infer.py", ["--completions", "data/bundled/seed_completions.parquet"]),
    ("create_training_data.py", []),
    ("get_question_embeddings.py", []),
)
#: "tied within noise": |mean paired difference| < 1 sd of the paired per-seed difference, or < this
TIE_FLOOR = 0.002


def default_workdir() -> Path:
    return Path(os.environ.get("TMPDIR") or tempfile.gettempdir()) / "ddcf_bench_predictor"


def complete(workdir: Path) -> bool:
    lay = Layout(workdir)
    return lay.matrix.exists() and lay.model_order.exists() and lay.seed_embeddings.exists()


def ensure_workdir(workdir: str | None, log=print) -> Path:
    """The work directory to read; builds the default one from the bundled data when it is missing."""
    if workdir:
        path = Path(workdir).resolve()
        if not complete(path):
            lay = Layout(path)
            raise SystemExit(f"--workdir {path} lacks {lay.matrix}, {lay.model_order} or {lay.seed_embeddings}: run "
                             "infer.py, create_training_data.py and get_question_embeddings.py on it first, or "
                             "leave --workdir out to use the bundled data.")
        return path
    path = default_workdir()
    if complete(path):
        log(f"work dir: {path} (bundled data, reused; delete it to rebuild)")
        return path
    log(f"work dir: {path} (building it from the bundled data; reused by later runs)")
    for script, args in STAGES:
        t = time.perf_counter()
        cmd = [sys.executable, str(ROOT / script), "--workdir", str(path), "--no_progress",
               *[str(ROOT / a) if a.startswith("data/") else a for a in args]]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed (exit {done.returncode}):\n{done.stdout[-2000:]}"
                             f"{done.stderr[-2000:]}")
        log(f"  {script} {' '.join(args)}: {time.perf_counter() - t:.0f} s")
    return path


@dataclass
class Matrix:
    rows: pd.DataFrame  # model_id, model, question_id, correct, dataset (one row per answered pair)
    models: list[str]  # model order (model_id -> name)
    arr: np.ndarray
    emb_ids: list[str]
    manifest: dict
    rates: pd.Series | None  # pass rate by (model, question_id) when some pair has n > 1
    texts: dict[str, str] | None = None  # question id -> text (for the predictor's text statistics)

    def strata(self) -> dict[str, str]:
        """question id -> dataset (the alphabetically first when a question is under several)."""
        return self.rows.groupby("question_id")["dataset"].min().to_dict()


def load_matrix(workdir: Path) -> Matrix:
    lay = Layout(workdir)
    m = pd.read_parquet(lay.matrix)
    order = pd.read_csv(lay.model_order).sort_values("model_id")
    models = order["model"].astype(str).tolist()
    index = {name: i for i, name in enumerate(models)}
    rows = pd.DataFrame({
        "model": m["model"].astype(str),
        "question_id": m["question_id"].astype(str),
        "correct": pd.to_numeric(m["correct"]).astype(np.int64),
        "dataset": m["dataset"].astype(str) if "dataset" in m.columns else "all",
    })
    rows.insert(0, "model_id", rows["model"].map(index).astype(np.int64))
    rates = matrix_pass_rates(lay)
    arr, ids, manifest = load_embeddings(lay.seed_embeddings, "seed embeddings")
    return Matrix(rows=rows, models=models, arr=arr, emb_ids=list(ids), manifest=manifest or {}, rates=rates,
                  texts=seed_texts(lay))


def model_inputs(mat: Matrix, model) -> np.ndarray:
    """The input rows of ``model`` for every embedded question (``mat.emb_ids`` order): the embeddings, plus the
    text statistics when the predictor reads them."""
    arr = np.asarray(mat.arr, np.float32)
    if not getattr(model, "n_text", 0):
        return arr
    from ddcf.predictor.features import text_features

    texts = mat.texts or {}
    return np.ascontiguousarray(np.concatenate([arr, text_features([texts.get(q, "") for q in mat.emb_ids])], 1))


def only_dataset(mat: Matrix, dataset: str) -> Matrix:
    """The sub-matrix of one dataset's questions (models without answers there are dropped and renumbered)."""
    rows = mat.rows[mat.rows["dataset"] == dataset].copy()
    if rows.empty:
        raise SystemExit(f"--dataset {dataset}: the matrix has no such dataset "
                         f"({', '.join(sorted(mat.rows['dataset'].unique()))}).")
    models = [m for m in mat.models if m in set(rows["model"])]
    rows["model_id"] = rows["model"].map({n: i for i, n in enumerate(models)}).astype(np.int64)
    return dataclasses.replace(mat, rows=rows.reset_index(drop=True), models=models)


def question_split(mat: Matrix, seed: int, val_ratio: float = 0.1, test_ratio: float = 0.1) -> dict[str, str]:
    """The benchmark's split: by question, stratified by dataset, seeded."""
    return split_by_question(mat.rows["question_id"].unique(), val_ratio, test_ratio, seed=seed,
                             strata=mat.strata())


def make_data(mat: Matrix, side: dict[str, str], models: list[str] | None = None,
              train_questions: set[str] | None = None) -> TrainingData:
    """TrainingData for ``side`` (question id -> train/val/test; ids it lacks are dropped), keeping only
    ``models`` (renumbered 0..m-1 in the given order) and, on the train side, only ``train_questions``."""
    rows = mat.rows
    names = mat.models
    if models is not None:
        names = list(models)
        rows = rows[rows["model"].isin(set(names))].copy()
        rows["model_id"] = rows["model"].map({n: i for i, n in enumerate(names)}).astype(np.int64)
    s = rows["question_id"].map(side)
    frames = {k: rows[s == k].reset_index(drop=True) for k in ("train", "val", "test")}
    if train_questions is not None:
        tr = frames["train"]
        frames["train"] = tr[tr["question_id"].isin(train_questions)].reset_index(drop=True)
    return build_training_data(names, frames["train"], frames["val"], frames["test"], mat.arr, mat.emb_ids,
                               mat.manifest, mat.rates, texts=mat.texts)


def mean_sd(values) -> tuple[float, float]:
    v = [x for x in values if x is not None and not math.isnan(x)]
    if not v:
        return math.nan, math.nan
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else math.nan


def fmt(mean: float, sd: float, digits: int = 4) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" if not math.isnan(sd) else f"{mean:.{digits}f}"


def tied(a: list[float], b: list[float]) -> tuple[bool, float, float]:
    """Is ``a`` (per-seed figures) tied with ``b`` within noise?  (tied, mean diff a-b, sd of the paired diff).

    Tied: |mean of the paired per-seed difference| < its sd, or < :data:`TIE_FLOOR`."""
    d = np.asarray(a, float) - np.asarray(b, float)
    d = d[~np.isnan(d)]
    if not len(d):
        return False, math.nan, math.nan
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if len(d) > 1 else math.nan  # one seed: only the floor applies
    return abs(mean) < sd or abs(mean) < TIE_FLOOR, mean, sd
