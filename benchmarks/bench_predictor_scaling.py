"""The paper's Appendix C (Tables 6 and 7) on our matrix: predictor quality vs #models and vs #questions.

The paper (App. C, "How Reliable is the Correctness Predictor?") trains its predictor on 23 open models x
19,470 GSM8K/MATH training questions (10% = 1,947 held out for test; Qwen3-Embedding-4B question
embeddings) and reports the test accuracy for ONE target model, Qwen2.5-Math-7B:

    Table 6 (23 models' worth of questions fixed, models varied):
        # Models    1     2     4     8     16    23
        Accuracy  81.5  81.7  81.8  82.2  82.5  82.7
    Table 7 (23 models fixed, training questions varied):
        # Questions 1K    2K    4K    8K    16K   17.5K
        Accuracy  80.0  80.1  80.8  81.9  82.4  82.7

Here, on the bundled ZeroEval matrix (GSM8K-test + MATH-Level-5-test answers of the bundled models,
MiniLM-L6 embeddings unless the work dir says otherwise), one question split (val 10%, test 10%,
stratified by dataset, ``--split_seed``) is fixed and:

(a) for n in 1, 2, 4, 8, 16, all models: ``--repeats`` random subsets of n models, always containing the
    target (``--target``, default Meta-Llama-3-8B-Instruct when present, else the first model); the
    predictor is trained on those models' training rows only (validation rows of the same models pick
    its epochs and temperature); every model of the subset is a target and is scored on the test
    questions.  "all" has one subset, so it is trained ``--repeats`` times with different seeds.
(b) with all models: ``--repeats`` random subsets of 100, 200, 500, 1000, all training questions.

Each cell is the mean over repeats of: the target model's test accuracy and AUC, and the mean over the
subset's models of their test accuracy and AUC ("averaged over targets").  The predictor is the default
(``arch=factor``) with ``--ensemble 1`` by default here, for speed (the stage's default is larger), and
no baselines; ``--arch paper`` reruns it with the paper's predictor.

    python benchmarks/bench_predictor_scaling.py                        # bundled data, a few minutes
    python benchmarks/bench_predictor_scaling.py --arch paper --png scaling_paper.png
    python benchmarks/bench_predictor_scaling.py --repeats 1 --model_sizes 1,4,all --question_sizes 100,all

Prints both tables and writes one PNG with two panels (``--png``; default next to ``--json``, else in
the work dir).
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import predictor_bench_data as bd

from ddcf.io import atomic_path, write_json
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.evaluation import evaluate_all, predictor_label
from ddcf.predictor.metrics import accuracy, roc_auc
from ddcf.predictor.train import train_predictor

DEFAULT_TARGET = "Meta-Llama-3-8B-Instruct"
PAPER_NOTE = ("The paper's figures (quoted in this script's docstring) come from other models (23 open models "
              "incl. the target Qwen2.5-Math-7B, on 19,470 GSM8K/MATH *training* questions) and another embedder "
              "(Qwen3-Embedding-4B); ours come from the bundled ZeroEval models on GSM8K-test + MATH-Level-5 "
              "questions with the work dir's embedder, a different target and ~10x fewer questions, so only the "
              "shape of the curves is comparable, not the levels.")


def parse_sizes(text: str) -> list[int | None]:
    """"1,2,all" -> [1, 2, None] (None: all)."""
    out: list[int | None] = []
    for tok in text.split(","):
        tok = tok.strip().lower()
        if tok:
            out.append(None if tok == "all" else int(tok))
    return out


def fit_and_score(mat: bd.Matrix, side: dict, models: list[str], target: str, seed: int, arch: str,
                  ensemble: int, train_questions: set[str] | None = None) -> dict:
    """Train on ``models``' training rows; test accuracy/AUC of the target and averaged over the models."""
    data = bd.make_data(mat, side, models=models, train_questions=train_questions)
    extra = {"ensemble": ensemble} if arch == "factor" else {}
    cfg = PredictorConfig(arch=arch, no_progress=True, seed=seed, baselines=[], **extra)
    res = train_predictor(data, cfg)
    ev = evaluate_all(data, res, cfg)
    p = ev.predictions["test"][predictor_label(arch)]
    y, mid = data.test.correct, data.test.model_id
    per = {}
    for i, name in enumerate(models):
        rows = mid == i
        if rows.any():
            per[name] = (accuracy(y[rows], p[rows]), roc_auc(y[rows], p[rows]))
    acc_all = [a for a, _ in per.values()]
    auc_all = [u for _, u in per.values() if not math.isnan(u)]
    t_acc, t_auc = per.get(target, (math.nan, math.nan))
    return dict(models=len(models), train_questions=data.stats["n_train_questions"], target_accuracy=t_acc,
                target_auc=t_auc, mean_accuracy=float(np.mean(acc_all)) if acc_all else math.nan,
                mean_auc=float(np.mean(auc_all)) if auc_all else math.nan, seconds=res.seconds)


def sweep_models(mat, side, target, sizes, repeats, arch, ensemble, seed=0, log=print) -> list[dict]:
    others = [m for m in mat.models if m != target]
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        k = len(mat.models) if n is None or n >= len(mat.models) else n
        for r in range(repeats):
            pick = [target] + [others[i] for i in sorted(rng.choice(len(others), k - 1, replace=False))]
            row = fit_and_score(mat, side, pick, target, seed + r, arch, ensemble)
            row.update(size="all" if k == len(mat.models) else k, repeat=r)
            out.append(row)
            log(f"  models {k:3d} repeat {r}: target acc {row['target_accuracy']:.4f}, mean acc "
                f"{row['mean_accuracy']:.4f}, mean AUC {row['mean_auc']:.4f} ({row['seconds']:.0f} s)")
    return out


def sweep_questions(mat, side, target, sizes, repeats, arch, ensemble, seed=0, log=print) -> list[dict]:
    train_q = sorted(q for q, s in side.items() if s == "train")
    rng = np.random.default_rng(seed + 1)
    out = []
    for n in sizes:
        k = len(train_q) if n is None or n >= len(train_q) else n
        for r in range(repeats):
            keep = set(train_q) if k == len(train_q) else {train_q[i] for i in rng.choice(len(train_q), k,
                                                                                          replace=False)}
            row = fit_and_score(mat, side, mat.models, target, seed + r, arch, ensemble, train_questions=keep)
            row.update(size="all" if k == len(train_q) else k, repeat=r)
            out.append(row)
            log(f"  questions {k:5d} repeat {r}: target acc {row['target_accuracy']:.4f}, mean acc "
                f"{row['mean_accuracy']:.4f}, mean AUC {row['mean_auc']:.4f} ({row['seconds']:.0f} s)")
    return out


COLUMNS = (("target_accuracy", "target acc"), ("target_auc", "target AUC"), ("mean_accuracy", "mean acc"),
           ("mean_auc", "mean model AUC"))


def aggregate(rows: list[dict]) -> list[dict]:
    """One row per size: mean and sd over repeats of every column."""
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    out = []
    for s in sizes:
        group = [r for r in rows if r["size"] == s]
        agg = {"size": s, "n": len(group), "train_questions": group[0]["train_questions"],
               "models": group[0]["models"]}
        for key, _ in COLUMNS:
            agg[key] = bd.mean_sd([g[key] for g in group])
        out.append(agg)
    return out


def table(agg: list[dict], what: str) -> str:
    headers = [what, "train q", "repeats"] + [h for _, h in COLUMNS]
    rows = [[str(a["size"]), str(a["train_questions"]), str(a["n"])] + [bd.fmt(*a[k], 3) for k, _ in COLUMNS]
            for a in agg]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(cells, widths))
                     for cells in [headers, ["-" * w for w in widths], *rows])


def plot(models_agg: list[dict], questions_agg: list[dict], target: str, arch: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, agg, xkey, xlabel in ((axes[0], models_agg, "models", "number of collaborating models"),
                                  (axes[1], questions_agg, "train_questions", "number of training questions")):
        x = [a[xkey] for a in agg]
        for key, label, style in (("target_accuracy", f"accuracy, target {target}", "-o"),
                                  ("mean_accuracy", "accuracy, mean over targets", "-s"),
                                  ("target_auc", f"AUC, target {target}", "--o"),
                                  ("mean_auc", "AUC, mean over targets", "--s")):
            m = np.array([a[key][0] for a in agg])
            sd = np.array([a[key][1] for a in agg])
            ax.errorbar(x, m, yerr=np.nan_to_num(sd), fmt=style, capsize=3, label=label, ms=4)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test questions")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)  # below the panels: never over a curve
    axes[0].set_title("vs models (Table 6 analogue)")
    axes[1].set_title("vs training questions, all models (Table 7 analogue)")
    fig.suptitle(f"Correctness predictor ({arch}), test questions, mean ± sd over repeats")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", default=None, help="Work dir with the matrix and seed embeddings (default: build "
                   "one from the bundled data under $TMPDIR).")
    p.add_argument("--arch", default="factor", choices=("factor", "paper"), help="Predictor (default factor).")
    p.add_argument("--ensemble", type=int, default=1, help="factor arch: ensemble members (default 1 here, for "
                   "speed; the stage's default is larger).")
    p.add_argument("--target", default=None, help=f"Target model (default {DEFAULT_TARGET} if present, else the "
                   "first model); always in the subsets.")
    p.add_argument("--repeats", type=int, default=3, help="Random subsets per size (default 3).")
    p.add_argument("--model_sizes", default="1,2,4,8,16,all", help="Numbers of models (default 1,2,4,8,16,all).")
    p.add_argument("--question_sizes", default="100,200,500,1000,all",
                   help="Numbers of training questions (default 100,200,500,1000,all).")
    p.add_argument("--split_seed", type=int, default=0, help="Seed of the fixed question split and the subsets.")
    p.add_argument("--json", default=None, help="Write every run's figures to this JSON file.")
    p.add_argument("--png", default=None, help="The figure (default: next to --json, else in the work dir).")
    a = p.parse_args(argv)
    if a.repeats < 1 or a.ensemble < 1:
        p.error("--repeats and --ensemble must be >= 1")
    try:
        model_sizes, question_sizes = parse_sizes(a.model_sizes), parse_sizes(a.question_sizes)
    except ValueError as e:
        p.error(f"--model_sizes / --question_sizes: {e}")
    if any(s is not None and s < 1 for s in model_sizes + question_sizes):
        p.error("sizes must be >= 1 or 'all'")
    print("command: python " + " ".join(shlex.quote(x) for x in [sys.argv[0], *(argv or sys.argv[1:])]))
    t0 = time.perf_counter()
    workdir = bd.ensure_workdir(a.workdir)
    mat = bd.load_matrix(workdir)
    target = a.target or (DEFAULT_TARGET if DEFAULT_TARGET in mat.models else mat.models[0])
    if target not in mat.models:
        p.error(f"--target {target!r} is not in the matrix; models: {', '.join(mat.models)}")
    side = bd.question_split(mat, a.split_seed)
    n_by = {k: sum(v == k for v in side.values()) for k in ("train", "val", "test")}
    print(f"matrix: {len(mat.models)} models, {len(side):,} questions ({n_by['train']} train / {n_by['val']} val / "
          f"{n_by['test']} test, split seed {a.split_seed}); predictor: {a.arch}"
          + (f", ensemble {a.ensemble} (default 1 in this benchmark for speed)" if a.arch == "factor" else "")
          + f", no baselines; target: {target}; {a.repeats} repeat(s) per size")
    print("\n(a) vs number of collaborating models (train rows of the subset only; test questions):")
    m_rows = sweep_models(mat, side, target, model_sizes, a.repeats, a.arch, a.ensemble, a.split_seed)
    print("\n(b) vs number of training questions (all models):")
    q_rows = sweep_questions(mat, side, target, question_sizes, a.repeats, a.arch, a.ensemble, a.split_seed)
    m_agg, q_agg = aggregate(m_rows), aggregate(q_rows)
    print(f"\nTable 6 analogue: test questions vs number of models (target {target}; 'mean' = averaged over "
          "the subset's models), mean ± sd over repeats")
    print(table(m_agg, "models"))
    print(f"\nTable 7 analogue: test questions vs number of training questions (all {len(mat.models)} models)")
    print(table(q_agg, "questions"))
    print("\nPaper (App. C, target Qwen2.5-Math-7B, accuracy): models 1/2/4/8/16/23 -> 81.5/81.7/81.8/82.2/82.5/"
          "82.7; questions 1K/2K/4K/8K/16K/17.5K -> 80.0/80.1/80.8/81.9/82.4/82.7.")
    print(PAPER_NOTE)
    png = Path(a.png) if a.png else (Path(a.json).with_suffix(".png") if a.json
                                     else workdir / f"predictor_scaling_{a.arch}.png")
    plot(m_agg, q_agg, target, a.arch, png)
    print(f"figure: {png}")
    if a.json:
        write_json(dict(command=sys.argv, workdir=str(workdir), target=target, arch=a.arch, models=m_rows,
                        questions=q_rows), a.json)
        print(f"per-run figures: {a.json}")
    print(f"wall time: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
