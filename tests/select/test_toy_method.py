"""A selector is one file plus one registry entry: a toy method registered at run time goes through `ddcf select`
and `ddcf report` with no other file edited (its folder, label, pool and annotation cost come from the entry)."""

import json
import sys
import types

import numpy as np
import pandas as pd
from helpers_select import write_layout

from ddcf import cli as ddcf_cli
from ddcf.select import methods as registry
from ddcf.select.methods.common import Context, Picks

MODEL = "org/Target-7B"


def toy_select(ctx: Context) -> Picks:
    """The k questions of the pool with the lowest predicted correctness, hardest first."""
    rows = np.argsort(ctx.pool.predicted_correctness, kind="stable")[: ctx.k]
    return Picks(indices=rows, score=ctx.pool.predicted_correctness[rows], engine="toy sort")


def register(monkeypatch):
    module = types.ModuleType("toy_selector_for_tests")
    module.select = toy_select
    monkeypatch.setitem(sys.modules, module.__name__, module)
    entry = registry.Method(module.__name__, "predicted correctness only", "yes (a toy)", label="Toy",
                            caption="the hardest questions, no diversity", annotation_cost="corpus_pass",
                            tag=lambda config: f"seed{config.seed}")
    monkeypatch.setitem(registry.METHODS, "toy", entry)


def test_a_toy_method_registered_at_run_time_runs_through_select_and_report(layout, tmp_path, monkeypatch):
    _, _, pc = write_layout(layout, n=30)
    register(monkeypatch)
    argv = ["--workdir", str(layout.root), "--no_progress"]
    assert ddcf_cli.main(["select", *argv, "--model_name", MODEL, "--method", "toy", "--num_select", "6",
                          "--seed", "4"]) == 0

    out = layout.selection_method_dir(MODEL, "toy", 6, "seed4")  # named by the entry's tag
    table = pd.read_parquet(out / "selection.parquet")
    assert table["question_id"].tolist() == [f"q{i:04d}" for i in np.argsort(pc, kind="stable")[:6]]
    rep = json.loads((out / "report.json").read_text())
    assert rep["method"] == "toy" and rep["method_label"] == "Toy" and rep["pool_kind"] == "corpus"
    assert rep["annotation_kind"] == "corpus_pass" and rep["annotation_cost"] == 30  # one pass per pool question
    assert rep["redundancy"] is None and rep["stability"] is None  # not a k-greedy

    rep_dir = tmp_path / "report"
    assert ddcf_cli.main(["report", *argv, "--projection", "tsne", "--sweep_points", "0", "--output_dir",
                          str(rep_dir), str(out)]) == 0
    summary = json.loads((rep_dir / "report.json").read_text())
    row = summary["table"][0]
    assert row["method"] == "toy" and row["annotation_cost"] == 30
