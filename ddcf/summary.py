"""One-screen summary of a whole pipeline run, read back from the artifacts.

    python -m ddcf.summary --workdir demo_run --model_name Meta-Llama-3-8B-Instruct

It reads only files (so it also works on a run made stage by stage, days apart)
and says which stage to run next when an artifact is missing.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.cli import add_workdir_arg, run_main
from ddcf.layout import Layout


def _fmt(x, digits=3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _verify_lines(layout: Layout, target: str) -> list[str]:
    files = [p for p in sorted(layout.verdicts_dir.glob("*.parquet")) if not p.name.endswith(".passrate.parquet")] \
        if layout.verdicts_dir.is_dir() else []
    if not files:
        return ["1 verify      (missing: run infer.py)"]
    df = pd.concat([pd.read_parquet(p, columns=["model", "dataset", "correct", "status"]) for p in files])
    by_ds = ", ".join(f"{ds} {g['correct'].mean():.1%}" for ds, g in df.groupby("dataset"))
    lines = [f"1 verify      {len(df):,} answers of {df['model'].nunique()} models graded; accuracy {by_ds}"]
    t = df[df["model"] == target]
    if len(t):
        lines.append(f"              target {target}: " +
                     ", ".join(f"{ds} {g['correct'].mean():.1%} (n={len(g)})" for ds, g in t.groupby("dataset")))
    noans = int((df["status"] != "ok").sum()) if "status" in df.columns else 0
    lines.append(f"              no answer / timeout / error: {noans:,}")
    return lines


def _matrix_lines(layout: Layout) -> list[str]:
    if not layout.matrix.exists():
        return ["2 matrix      (missing: run create_training_data.py)"]
    m = pd.read_parquet(layout.matrix, columns=["model", "question_id", "split"])
    q = m.drop_duplicates("question_id")
    return [f"2 matrix      {m['model'].nunique()} models x {len(q):,} questions, {len(m):,} observed pairs; "
            f"split {int((q['split'] == 'train').sum()):,} train / {int((q['split'] == 'val').sum()):,} val questions"]


def _embed_lines(layout: Layout) -> list[str]:
    out = []
    for name, p in (("seed", layout.seed_embeddings), ("corpus", layout.corpus_embeddings)):
        man = p.with_suffix(".json")
        if man.exists():
            info = json.loads(man.read_text())
            out.append(f"{info['n']:,} {name} x {info['dim']}")
    if not out:
        return ["3 embeddings  (missing: run get_question_embeddings.py)"]
    model = json.loads(layout.seed_embeddings.with_suffix(".json").read_text()).get("embedding_model", "?") \
        if layout.seed_embeddings.with_suffix(".json").exists() else "?"
    return [f"3 embeddings  {', '.join(out)}  ({model})"]


def _predictor_lines(layout: Layout) -> list[str]:
    if not layout.predictor_metrics.exists():
        return ["4 predictor   (missing: run train_correctness_predictor.py)"]
    met = json.loads(layout.predictor_metrics.read_text())
    lines = [f"4 predictor   best epoch {met.get('best_epoch')}, trained in {_fmt(met.get('train_seconds'), 1)} s; "
             "validation questions:"]
    lines.append(f"              {'method':34s} {'acc':>6s} {'AUC':>6s} {'logloss':>8s} {'ECE':>6s} {'model-AUC':>9s}")
    for name, r in met.get("final", {}).items():
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
    out_dir = layout.selection_dir(target, lamda, k)
    sel_path = out_dir / "selection.parquet"
    if not sel_path.exists():
        return [f"6 selection   (missing: run k_greedy_selection.py --model_name {target} --lamda {lamda:g} --num_select {k})"]
    sel = pd.read_parquet(sel_path)
    lines = [f"6 selection   {len(sel):,} questions (lamda={lamda:g}) -> {out_dir}"]
    rep_path = out_dir / "report.json"
    if rep_path.exists():
        rep = json.loads(rep_path.read_text())
        s, r = rep.get("selection", {}), rep.get("random", {})
        if s and r:
            lines.append(f"              {'':10s} {'mean difficulty':>16s} {'mean pairwise cos':>18s}")
            for name, block in (("DDCF", s), ("random", r)):
                lines.append(f"              {name:10s} {_fmt(block.get('mean_difficulty')):>16s} "
                             f"{_fmt(block.get('mean_pairwise_similarity')):>18s}")
    if "dataset" in sel.columns:
        comp = sel["dataset"].value_counts()
        lines.append("              composition: " + ", ".join(f"{ds} {n}" for ds, n in comp.items()))
    ds_dir = out_dir / "dataset"
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m ddcf.summary", description="One-screen summary of a DDCF run.")
    add_workdir_arg(p)
    p.add_argument("--model_name", default="Meta-Llama-3-8B-Instruct", help="Target model of the selection.")
    p.add_argument("--lamda", type=float, default=0.2, help="Lambda of the selection to show (default 0.2).")
    p.add_argument("--num_select", type=int, default=1000, help="k of the selection to show (default 1000).")
    args = p.parse_args(argv)
    print(render(Layout.from_arg(args.workdir), args.model_name, args.lamda, args.num_select))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
