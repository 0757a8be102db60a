"""The run summary: one block per stage, read back from the artifacts through the Layout.

Each block says what a stage produced, or which script to run when its artifact is missing.  The target, lamda
and k default to what the work directory holds (the one target with a selection, else the one with a difficulty
table; the one selection of that target), so a run made with any target reads right without options; when
several exist the summary lists them.  A block whose files cannot be read says so and the others still show.
"""

from __future__ import annotations

import math
import re
import textwrap

import numpy as np
import pandas as pd

from ddcf.artifacts import corpus, difficulty, selection
from ddcf.artifacts.matrix import read_matrix
from ddcf.artifacts.selection import COLUMN, block_value, read_selection_table
from ddcf.artifacts.verdicts import verdict_files
from ddcf.errors import DDCFError
from ddcf.io import current_dir, hash_ids, manifest_path, read_parquet_metadata, read_side_file
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.predictor.verdict import check_from_metrics
from ddcf.predictor.verdict import warning as beaten_warning
from ddcf.summary.config import SummaryConfig


def _fmt(x, digits=3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _count(n) -> str:
    return f"{n:,}" if isinstance(n, int) else "?"


def _columns(path, wanted: list[str]) -> list[str]:
    """The ``wanted`` columns that the Parquet file has (optional columns may be absent)."""
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    return [c for c in wanted if c in names]


def _read(path, wanted: list[str]) -> pd.DataFrame:
    return pd.read_parquet(path, columns=_columns(path, wanted))


def _verify_lines(layout: Layout, target: str | None) -> list[str]:
    files = verdict_files(layout)
    if not files:
        if layout.matrix.exists():  # a matrix brought from elsewhere (bring-your-own, or a pulled one): fine
            return ["1 verify      not run here (the matrix was built from verdicts or a table made elsewhere)"]
        return ["1 verify      (missing: run infer.py, or download_binary_correctness_from_hf.py)"]
    df = pd.concat([_read(p, ["model", "dataset", "correct", "status"]) for p in files])
    if "dataset" not in df.columns:
        df["dataset"] = "all"
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
    m, _ = read_matrix(layout, columns=("model", "question_id"), optional=("split",))
    if "split" not in m.columns:
        m["split"] = ""
    q = m.drop_duplicates("question_id")
    return [f"2 matrix      {m['model'].nunique()} models x {len(q):,} questions, {len(m):,} observed pairs; "
            f"split {int((q['split'] == 'train').sum()):,} train / {int((q['split'] == 'val').sum()):,} val / "
            f"{int((q['split'] == 'test').sum()):,} test questions"]


def _embed_lines(layout: Layout) -> list[str]:
    out = []
    for name, p in (("seed", layout.seed_embeddings), ("corpus", layout.corpus_embeddings)):
        man = manifest_path(p)
        if man.exists():
            info = read_side_file(man, f"{name} embeddings manifest", "rerun get_question_embeddings.py.")
            out.append(f"{_count(info.get('n'))} {name} x {info.get('dim', '?')}")
            model = info.get("embedding_model", "?")
    if not out:
        return ["3 embeddings  (missing: run get_question_embeddings.py)"]
    return [f"3 embeddings  {', '.join(out)}  ({model})"]


def _predictor_lines(layout: Layout) -> list[str]:
    if not layout.predictor_metrics.exists():
        return ["4 predictor   (missing: run train_correctness_predictor.py)"]
    met = read_side_file(layout.predictor_metrics, "predictor metrics", "retrain the predictor "
                         "(train_correctness_predictor.py) or pull it again.")
    on = "test" if met.get("final_split") == "test" else "validation"
    epochs = (f"best epochs {', '.join(map(str, met['best_epochs']))}" if met.get("best_epochs")
              else f"best epoch {met.get('best_epoch')}")
    lines = [f"4 predictor   arch {met.get('arch', 'paper')}, {epochs}, trained in {_fmt(met.get('train_seconds'), 1)} "
             f"s; {on} questions:"]
    lines.append(f"              {'method':34s} {'acc':>6s} {'AUC':>6s} {'logloss':>8s} {'ECE':>6s} {'model-AUC':>9s}")
    final = met.get("final") if isinstance(met.get("final"), dict) else {}
    final = {k: v for k, v in final.items() if isinstance(v, dict)}
    # the predictor first, then the baselines (metrics.json stores its keys sorted)
    for name, r in sorted(final.items(), key=lambda kv: (not kv[0].startswith("predictor ("), kv[0])):
        lines.append(f"              {name:34s} {_fmt(r.get('accuracy')):>6s} {_fmt(r.get('auc')):>6s} "
                     f"{_fmt(r.get('log_loss')):>8s} {_fmt(r.get('ece')):>6s} {_fmt(r.get('mean_model_auc')):>9s}")
    secs = met.get("baseline_seconds")
    if isinstance(secs, dict) and secs:
        secs = {k: v for k, v in secs.items() if isinstance(v, (int, float))}
        lines += textwrap.wrap("baselines fitted in " + ", ".join(f"{k} {v:.1f} s" for k, v in secs.items()),
                               width=110, initial_indent=" " * 14, subsequent_indent=" " * 16)
    # stored by the predictor stage (older metrics.json: recomputed from the figures above)
    text = beaten_warning(check_from_metrics(met))
    if text:
        lines += textwrap.wrap(f"WARNING: {text}", width=110, initial_indent=" " * 14, subsequent_indent=" " * 16)
    return lines


def _difficulty_lines(layout: Layout, target: str | None) -> list[str]:
    if target is None:
        return ["5 difficulty  (missing: run fullcorpus_difficulty_estimation.py --model_name MODEL)"]
    p = layout.difficulty(target)
    if not p.exists():
        return [f"5 difficulty  (missing: run fullcorpus_difficulty_estimation.py --model_name {target})"]
    d, _, _ = difficulty.read_difficulty(layout, target)
    pc = d["predicted_correctness"].to_numpy(dtype=float)
    q = np.quantile(pc, [0.1, 0.5, 0.9])
    line = (f"5 difficulty  {len(d):,} corpus questions scored for {target}: mean predicted correctness "
            f"{pc.mean():.3f} (p10 {q[0]:.2f}, median {q[1]:.2f}, p90 {q[2]:.2f})")
    lines = [line]
    # 'dataset' is optional in a corpus: the breakdown is shown only when there is one
    if corpus.exists(layout) and "dataset" in corpus.file_columns(layout):
        c = corpus.read_corpus(layout, columns=("question_id", "dataset"))
        j = d.merge(c, on="question_id", how="left")
        lines.append("              by dataset: " + ", ".join(
            f"{ds} {g['predicted_correctness'].mean():.2f}" for ds, g in j.groupby("dataset")))
    return lines


def _selection_lines(layout: Layout, target: str | None, lamda: float | None, k: int | None) -> list[str]:
    if target is None:
        return ["6 selection   (missing: run k_greedy_selection.py --model_name MODEL)"]
    if lamda is None or k is None:
        runs = [r for r in selection_runs(layout, target)
                if (lamda is None or abs(r[1] - lamda) < 1e-12) and (k is None or r[2] == k)]
        if len(runs) != 1:
            return [f"6 selection   (missing: run k_greedy_selection.py --model_name {target})"] if not runs else [
                f"6 selection   {len(runs)} runs for {target}: {', '.join(n for n, _, _ in runs)}; pass --lamda "
                "and --num_select to show one"]
        _, lamda, k = runs[0]
    # a run killed between its two renames leaves the previous (complete) selection set aside: show that one
    out_dir = current_dir(layout.selection_dir(target, lamda, k))
    sel_path = layout.selection_table(out_dir)
    if not sel_path.exists():
        return [f"6 selection   (missing: run k_greedy_selection.py --model_name {target} --lamda {lamda:g} "
                f"--num_select {k})"]
    sel = read_selection_table(sel_path)  # also a run written before the rename (column 'difficulty')
    lines = [f"6 selection   {len(sel):,} questions (lamda={lamda:g}) -> {out_dir}"]
    rep_path = layout.selection_report(out_dir)
    rep = selection.read_report(out_dir) if rep_path.exists() else {}
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
    st = rep.get("stability") or {}
    if st.get("reselect_overlap") is not None:
        lines.append(f"              stability: a retraining of the predictor with another seed would keep "
                     f"~{st['reselect_overlap']:.0%} of the picks (report.json 'stability')")
    ds_dir = layout.selection_dataset(out_dir)
    if ds_dir.exists():
        lines.append(f"              SFT dataset (text column, chat template): {ds_dir}")
    return lines + _variant_lines(layout, out_dir, set(sel["question_id"].astype(str)))


def _variant_lines(layout: Layout, out_dir, picks: set[str]) -> list[str]:
    """The other selections with the same lamda and k beside the shown one (``_signed``, ``_consensus32``, ...),
    with the share of picks each has in common with it: a user sees at once how much a variant changes."""
    lines = []
    for d in sorted(out_dir.parent.glob(out_dir.name + "_*")):
        if not d.is_dir() or d.name.startswith("."):
            continue
        path = layout.selection_table(current_dir(d))
        try:
            other = set(read_selection_table(path)["question_id"].astype(str))
        except Exception:  # noqa: BLE001 - a half-written variant is named, not read
            lines.append(f"              also: {d.name} (unreadable: rerun it)")
            continue
        shared = len(picks & other) / max(len(picks), 1)
        lines.append(f"              also: {d.name}, {len(other):,} questions, {shared:.0%} of them shared with "
                     "this one (ddcf report compares them)")
    return lines


_RUN = re.compile(r"^lamda([0-9.eE+-]+)_k([0-9]+)$")


def selection_runs(layout: Layout, target: str) -> list[tuple[str, float, int]]:
    """The target's k-greedy runs in the work directory: (folder name, lamda, k)."""
    folder = layout.selection_dir(target, 0.0, 1).parent
    out = []
    for d in sorted(folder.iterdir()) if folder.is_dir() else []:
        m = _RUN.match(d.name.removeprefix(".").split(".old")[0])
        if m and d.is_dir():
            out.append((m.group(0), float(m.group(1)), int(m.group(2))))
    return list({name: (name, lam, k) for name, lam, k in out}.values())


def targets(layout: Layout) -> tuple[list[str], list[str]]:
    """(models with a selection run, models with a difficulty table), from the tables' own metadata."""
    selected, scored = set(), set()
    for p in sorted(layout.factorized.glob("*.parquet")) if layout.factorized.is_dir() else []:
        try:
            model = read_parquet_metadata(p).get("model")
        except Exception:  # noqa: BLE001 - an unreadable table names no target; its block says why later
            continue
        if isinstance(model, str) and model:
            scored.add(model)
            if selection_runs(layout, model):
                selected.add(model)
    return sorted(selected), sorted(scored)


def pick_target(layout: Layout, asked: str | None) -> tuple[str | None, str | None]:
    """The target to show and, when it was not obvious, a line saying which ones exist."""
    if asked:
        return asked, None
    selected, scored = targets(layout)
    for pool in (selected, scored):
        if len(pool) == 1:
            return pool[0], None
        if pool:
            return None, (f"{len(pool)} targets have {'selections' if pool is selected else 'difficulty tables'} "
                          f"here ({', '.join(pool[:8])}{' ...' if len(pool) > 8 else ''}): pass --model_name to "
                          "show one")
    return None, None


def _guarded(number: str, name: str, fn, *args) -> list[str]:
    """A block, or one line saying why its files cannot be read (the other blocks still show)."""
    try:
        return fn(*args)
    except DDCFError as exc:
        return [f"{number} {name:<11s} (unreadable: {exc.message})"]
    except Exception as exc:  # noqa: BLE001 - a damaged artifact must not hide the rest of the summary
        return [f"{number} {name:<11s} (unreadable: {type(exc).__name__}: {str(exc).splitlines()[0][:200]})"]


def render(layout: Layout, target: str | None = None, lamda: float | None = None, k: int | None = None) -> str:
    target, note = pick_target(layout, target)
    lines = [f"DDCF run summary  ({layout.root})" + (f"  target {target}" if target else ""), "=" * 78]
    if note:
        lines.append(note)
    for block in (
        _guarded("1", "verify", _verify_lines, layout, target),
        _guarded("2", "matrix", _matrix_lines, layout),
        _guarded("3", "embeddings", _embed_lines, layout),
        _guarded("4", "predictor", _predictor_lines, layout),
        _guarded("5", "difficulty", _difficulty_lines, layout, target),
        _guarded("6", "selection", _selection_lines, layout, target, lamda, k),
    ):
        lines.extend(block)
    return "\n".join(lines)


def run(layout: Layout, config: SummaryConfig) -> Report:
    """The summary as a Report (it writes nothing, so no resolved config is written either)."""
    text = render(layout, config.model_name, config.lamda, config.num_select)
    return Report(stage="summary", summary=text, config_dir=None)
