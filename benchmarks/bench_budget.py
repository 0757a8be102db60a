"""Seed-budget planning (``ddcf probe budget``) simulated on the bundled ZeroEval matrix.

    python benchmarks/bench_budget.py                      # 3 seeds, budgets 10/25/50%, ensemble 2 (~4 min, 2 cores)
    python benchmarks/bench_budget.py --seeds 0,1 --budgets 0.25

For each seed: the questions are split by question (``split_by_question``: 80/10/10, stratified by dataset);
a budget plan is made over the TRAINING pairs that exist (the bundled matrix is itself sparse: a budget of B
is B of its answered training pairs); the unplanned training pairs are hidden, the validation and test
questions stay complete; the predictor (factor arch, ``--ensemble`` members, baselines off) is trained and
scored on the test questions: mean per-model AUC and accuracy. Strategies:

* ``random``: B of the training pairs uniformly at random;
* ``core+spread``: the planner without a predictor (a k-center core every model answers, ``--core_fraction``
  of the budget, and per-model extras spread over the k-center cells at random): one round;
* ``planned``: the two-round protocol of ``ddcf probe budget``: run the core, train on it, then the extras
  where that predictor is least certain (p(1-p)), spread over the cells.  The core's pairs are part of the
  budget; the round-1 predictor costs only CPU.

Target (issue 13): at 25% of the pairs, mean per-model AUC within 0.01 of the full matrix.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import predictor_bench_data as B

from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.data import build_training_data
from ddcf.predictor.evaluation import evaluate_all, predictor_label
from ddcf.predictor.train import train_predictor
from ddcf.probe.budget import PAPER_GPU_HOURS, PAPER_MODELS, PAPER_QUESTIONS, plan_pairs

STRATEGIES = ("random", "core+spread", "planned")
TARGET_BUDGET, TARGET_GAP = 0.25, 0.01


def train_eval(names, frames, mat, cfg) -> tuple[dict, object, float]:
    data = build_training_data(names, frames["train"], frames["val"], frames["test"], mat.arr, mat.emb_ids,
                               mat.manifest, mat.rates, texts=mat.texts)
    result = train_predictor(data, cfg)
    ev = evaluate_all(data, result, cfg)
    return ev.test[predictor_label(result.arch)], result, ev.temperature


def p_correct(result, temperature: float, models: list[str], x: np.ndarray, mat=None,
              qids=None) -> dict[str, np.ndarray]:
    """Calibrated P(correct) of every model on the pool questions (the scoring of ddcf.difficulty)."""
    from ddcf.difficulty.scoring import score_chunks
    from ddcf.predictor.store import LoadedPredictor

    pred = LoadedPredictor(result.model.cpu(), {"calibration": {"temperature": temperature}}, "", Path("."))
    text = None
    if getattr(result.model, "n_text", 0):  # the predictor reads the question texts' statistics too
        from ddcf.predictor.features import text_features

        text = text_features([(mat.texts or {}).get(q, "") for q in qids])
    p = score_chunks(pred, x, list(range(len(models))), progress=False, text=text)
    return {m: p[i].astype(np.float64) for i, m in enumerate(models)}


def run_seed(mat, seed: int, budgets: list[float], core_fraction: float, cfg: PredictorConfig, log) -> list[dict]:
    side = B.question_split(mat, seed)
    rows = mat.rows
    s = rows["question_id"].map(side)
    frames = {k: rows[s == k].reset_index(drop=True) for k in ("train", "val", "test")}
    train = frames["train"]
    models = mat.models
    qids = sorted(train["question_id"].unique())
    qpos = pd.Index(qids)
    avail = np.zeros((len(models), len(qids)), bool)
    t_mid, t_q = train["model_id"].to_numpy(), qpos.get_indexer(train["question_id"])
    avail[t_mid, t_q] = True
    erow = pd.Index(mat.emb_ids).get_indexer(qids)
    x = np.asarray(mat.arr[erow], np.float32)
    key = t_mid * len(qids) + t_q

    def subset(plan, part=None) -> dict:
        keep = np.ones(len(plan), bool) if part is None else plan.part == part
        chosen = set((plan.model[keep] * len(qids) + plan.question[keep]).tolist())
        return {**frames, "train": train[np.isin(key, list(chosen))].reset_index(drop=True)}

    out = []
    t = time.perf_counter()
    full, _, _ = train_eval(models, frames, mat, cfg)
    out.append(dict(seed=seed, budget=1.0, strategy="full", pairs=len(train), **full))
    log(f"seed {seed}: full matrix {len(train):,} training pairs, mean model AUC {full['mean_model_auc']:.4f} "
        f"({time.perf_counter() - t:.0f} s)")
    for b in budgets:
        plans = {"random": plan_pairs(models, qids, x, b, core_fraction, "random", seed, available=avail),
                 "core+spread": plan_pairs(models, qids, x, b, core_fraction, "planned", seed, available=avail)}
        for name in STRATEGIES:
            t = time.perf_counter()
            if name == "planned" and not plans["core+spread"].core_questions:
                log(f"  budget {b:.0%} planned: no core (--core_fraction {core_fraction}) to train round 1 on; "
                    "skipped")
                continue
            if name == "planned":  # round 1: the core only; round 2: extras where that predictor is unsure
                _, r1, temp = train_eval(models, subset(plans["core+spread"], "core"), mat, cfg)
                plans[name] = plan_pairs(models, qids, x, b, core_fraction, "planned", seed,
                                         p_correct=p_correct(r1, temp, models, x, mat, qids), available=avail)
            plan = plans[name]
            met, _, _ = train_eval(models, subset(plan), mat, cfg)
            out.append(dict(seed=seed, budget=b, strategy=name, pairs=len(plan), **met))
            log(f"  budget {b:.0%} {name:<12} {len(plan):>6,} pairs ({len(plan.core_questions)} core q): "
                f"mean model AUC {met['mean_model_auc']:.4f}, accuracy {met['accuracy']:.4f} "
                f"({time.perf_counter() - t:.0f} s)")
    return out


def table(res: pd.DataFrame) -> str:
    full = res[res.strategy == "full"].set_index("seed")
    lines = [f"{'budget':>7} {'strategy':<12} {'pairs':>7} {'mean model AUC':>17} {'gap to full':>17} "
             f"{'accuracy':>17}"]
    for (b, name), g in res.groupby(["budget", "strategy"], sort=False):
        gap = (g.set_index("seed")["mean_model_auc"] - full["mean_model_auc"]).reindex(g.seed)
        lines.append(f"{b:>7.0%} {name:<12} {int(g.pairs.mean()):>7,} {B.fmt(*B.mean_sd(g.mean_model_auc)):>17} "
                     f"{B.fmt(*B.mean_sd(gap)):>17} {B.fmt(*B.mean_sd(g.accuracy)):>17}")
    return "\n".join(lines)


def plot(res: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    full = B.mean_sd(res[res.strategy == "full"].mean_model_auc)
    ax.axhline(full[0], color="k", lw=1, label="full matrix")
    ax.axhspan(full[0] - TARGET_GAP, full[0] + TARGET_GAP, color="k", alpha=0.08,
               label=f"within {TARGET_GAP} of the full matrix (target)")
    for name in STRATEGIES:
        g = res[res.strategy == name].groupby("budget").mean_model_auc
        ax.errorbar(100 * g.mean().index, g.mean(), yerr=g.std().fillna(0), marker="o", capsize=3, label=name)
    ax.set_xlabel("budget (% of the training pairs run)")
    ax.set_ylabel("mean per-model AUC, test questions")
    ax.set_title(f"Seed budget on the bundled matrix ({res.seed.nunique()} seeds)")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", help="a work dir with matrix, model order and seed embeddings (default: bundled)")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated split/plan seeds")
    ap.add_argument("--budgets", default="0.1,0.25,0.5", help="comma-separated budget fractions (< 1)")
    ap.add_argument("--core_fraction", type=float, default=0.5)
    ap.add_argument("--ensemble", type=int, default=2, help="predictor members (default 5 in ddcf predictor)")
    ap.add_argument("--png", default=None, help="where to write the figure (default: budget.png in the work dir)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    workdir = B.ensure_workdir(args.workdir)
    mat = B.load_matrix(workdir)
    args.png = args.png or str(Path(workdir) / "budget.png")
    cfg = PredictorConfig(ensemble=args.ensemble, baselines=[], no_progress=True, no_plot=True)
    budgets = [float(b) for b in args.budgets.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{len(mat.models)} models, {mat.rows.question_id.nunique():,} questions, {len(mat.rows):,} answered pairs "
          f"(the bundled matrix is sparse); ensemble {args.ensemble}, core fraction {args.core_fraction}")
    res = pd.DataFrame([r for s in seeds for r in run_seed(mat, s, budgets, args.core_fraction, cfg, print)])
    print("\n" + table(res))
    plot(res, Path(args.png))
    full = res[res.strategy == "full"].set_index("seed")["mean_model_auc"]
    print(f"\nwrote {args.png}")
    if TARGET_BUDGET in budgets:
        at = res[res.budget == TARGET_BUDGET]
        for name in STRATEGIES:
            gap = at[at.strategy == name].set_index("seed")["mean_model_auc"] - full
            ok = gap.mean() >= -TARGET_GAP
            print(f"target (25% of pairs within {TARGET_GAP} of the full matrix), {name}: gap {gap.mean():+.4f} "
                  f"(sd {gap.std():.4f}) -> {'met' if ok else 'NOT met'}")
    pairs = PAPER_MODELS * PAPER_QUESTIONS
    print(f"paper scale: {TARGET_BUDGET:.0%} of {PAPER_MODELS} models x {PAPER_QUESTIONS:,} questions = "
          f"{int(TARGET_BUDGET * pairs):,} of {pairs:,} pairs, ~{TARGET_BUDGET * PAPER_GPU_HOURS:.2f} of "
          f"{PAPER_GPU_HOURS:g} H100-hours (the paper's figure scaled by the share of pairs)")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
