"""The run summary: one block per stage, read back from the artifacts through the Layout.

Each block says what a stage produced, or which script to run when its artifact is missing.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from ddcf.io import hash_ids, manifest_path
from ddcf.layout import Layout
from ddcf.matrix.sources import verdict_files
from ddcf.pipeline import Report
from ddcf.select.output import current_dir
from ddcf.select.report import COLUMN, block_value, read_selection_table
from ddcf.summary.config import SummaryConfig


def _fmt(x, digits=3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _verify_lines(layout: Layout, target: str) -> list[str]:
    files = verdict_files(layout)
    if not files:
        return ["1 verify      (missing: run infer.py)"]
    df = pd.concat([pd.read_parquet(p, columns=["model", "dataset", "correct", "status"]) for p in files])
    by_ds = ", ".join(f"{ds} {g['correct'].mean():.1%}" for ds, g in df.groupby("dataset"))
    lines = [f"1 verify      {len(df):,} answers of {df['model'].nunique()} models graded; accuracy {by_ds}"]
    t = df[df["model"] == target]
    if len(t):
        lines.append(f"              target {target}: " +
                     ", ".join(f"{ds} {g['correct'].mean():.1%} (n={len(g)})" for ds, g in t.groupby("dataset")))
    # 'fallback' rows were answered (found by the type's whole-text rule, e.g. GSM8K's last number): not a failure.
    noans = int((~df["status"].isin(["ok", "fallback"])).sum()) if "status" in df.columns else 0
    lines.append(f"              no answer / unparsed / timeout / error: {noans:,}")
    return lines


def _matrix_lines(layout: Layout) -> list[str]:
    if not layout.matrix.exists():
        return ["2 matrix      (missing: run create_training_data.py)"]
    m = pd.read_parquet(layout.matrix, columns=["model", "question_id", "split"])
    q = m.drop_duplicates("question_id")
    return [f"2 matrix      {m['model'].nunique()} models x {len(q):,} questions, {len(m):,} observed pairs; "
            f"split {int((q['split'] == 'train').sum()):,} train / {int((q['split'] == 'val').sum()):,} val / "
            f"{int((q['split'] == 'test').sum()):,} test questions"]


def _embed_lines(layout: Layout) -> list[str]:
    out = []
    for name, p in (("seed", layout.seed_embeddings), ("corpus", layout.corpus_embeddings)):
        man = manifest_path(p)
        if man.exists():
            info = json.loads(man.read_text())
            out.append(f"{info['n']:,} {name} x {info['dim']}")
    if not out:
        return ["3 embeddings  (missing: run get_question_embeddings.py)"]
    seed_manifest = manifest_path(layout.seed_embeddings)
    model = json.loads(seed_manifest.read_text()).get("embedding_model", "?") if seed_manifest.exists() else "?"
    return [f"3 embeddings  {', '.join(out)}  ({model})"]


def _predictor_lines(layout: Layout) -> list[str]:
    if not layout.predictor_metrics.exists():
        return ["4 predictor   (missing: run train_correctness_predictor.py)"]
    met = json.loads(layout.predictor_metrics.read_text())
    on = "test" if met.get("final_split") == "test" else "validation"
    epochs = (f"best epochs {', '.join(map(str, met['best_epochs']))}" if met.get("best_epochs")
              else f"best epoch {met.get('best_epoch')}")
    lines = [f"4 predictor   arch {met.get('arch', 'paper')}, {epochs}, trained in {_fmt(met.get('train_seconds'), 1)} "
             f"s; {on} questions:"]
    lines.append(f"              {'method':34s} {'acc':>6s} {'AUC':>6s} {'logloss':>8s} {'ECE':>6s} {'model-AUC':>9s}")
    final = met.get("final", {})
    # the predictor first, then the baselines (metrics.json stores its keys sorted)
    for name, r in sorted(final.items(), key=lambda kv: (not kv[0].startswith("predictor ("), kv[0])):
        lines.append(f"              {name:34s} {_fmt(r.get('accuracy')):>6s} {_fmt(r.get('auc')):>6s} "
                     f"{_fmt(r.get('log_loss')):>8s} {_fmt(r.get('ece')):>6s} {_fmt(r.get('mean_model_auc')):>9s}")
    return lines


def _difficulty_lines(layout: Layout, target: str) -> list[str]:
    p = layout.difficulty(target)
    if not p.exists():
        return [f"5 difficulty  (missing: run fullcorpus_difficulty_estimation.py --model_name {target})"]
    d = pd.read_parquet(p)
    pc = d["predicted_correctness"].to_numpy(dtype=float)
    q = np.quantile(pc, [0.1, 0.5, 0.9])
    line = (f"5 difficulty  {len(d):,} corpus questions scored for {target}: mean predicted correctness "
            f"{pc.mean():.3f} (p10 {q[0]:.2f}, median {q[1]:.2f}, p90 {q[2]:.2f})")
    lines = [line]
    if layout.corpus_questions.exists():
        c = pd.read_parquet(layout.corpus_questions, columns=["question_id", "dataset"])
        j = d.merge(c, on="question_id", how="left")
        lines.append("              by dataset: " + ", ".join(
            f"{ds} {g['predicted_correctness'].mean():.2f}" for ds, g in j.groupby("dataset")))
    return lines


def _selection_lines(layout: Layout, target: str, lamda: float, k: int) -> list[str]:
    # a run killed between its two renames leaves the previous (complete) selection set aside: show that one
    out_dir = current_dir(layout.selection_dir(target, lamda, k))
    sel_path = layout.selection_table(out_dir)
    if not sel_path.exists():
        return [f"6 selection   (missing: run k_greedy_selection.py --model_name {target} --lamda {lamda:g} "
                f"--num_select {k})"]
    sel = read_selection_table(sel_path)  # also a run written before the rename (column 'difficulty')
    lines = [f"6 selection   {len(sel):,} questions (lamda={lamda:g}) -> {out_dir}"]
    rep_path = layout.selection_report(out_dir)
    rep = json.loads(rep_path.read_text()) if rep_path.exists() else {}
    if rep.get("selection_ids_sha256") not in (None, hash_ids(sel["question_id"].astype(str))):
        return lines + [f"              warning: {rep_path} describes another selection than {sel_path} (a "
                        "folder half-written by an older ddcf); rerun k_greedy_selection.py to replace it."]
    s, r = rep.get("selection", {}), rep.get("random", {})
    if not s and COLUMN in sel.columns:  # report.json missing or partial: the table still has the values
        s = {"mean_predicted_correctness": float(sel[COLUMN].mean())}
    if s:
        lines.append(f"              {'':10s} {'mean predicted correctness (lower = harder)':>43s} "
                     f"{'mean pairwise cos':>18s}")
        for name, block in (("DDCF", s), ("random", r)):
            if block:
                lines.append(f"              {name:10s} {_fmt(block_value(block, 'mean_predicted_correctness')):>43s} "
                             f"{_fmt(block.get('mean_pairwise_similarity')):>18s}")
    if "dataset" in sel.columns:
        comp = sel["dataset"].value_counts()
        lines.append("              composition: " + ", ".join(f"{ds} {n}" for ds, n in comp.items()))
    ds_dir = layout.selection_dataset(out_dir)
    if ds_dir.exists():
        lines.append(f"              SFT dataset (text column, chat template): {ds_dir}")
    return lines


def render(layout: Layout, target: str, lamda: float, k: int) -> str:
    lines = [f"DDCF run summary  ({layout.root})", "=" * 78]
    for block in (
        _verify_lines(layout, target),
        _matrix_lines(layout),
        _embed_lines(layout),
        _predictor_lines(layout),
        _difficulty_lines(layout, target),
        _selection_lines(layout, target, lamda, k),
    ):
        lines.extend(block)
    return "\n".join(lines)


def run(layout: Layout, config: SummaryConfig) -> Report:
    """The summary as a Report (it writes nothing, so no resolved config is written either)."""
    text = render(layout, config.model_name, config.lamda, config.num_select)
    return Report(stage="summary", summary=text, config_dir=None)
