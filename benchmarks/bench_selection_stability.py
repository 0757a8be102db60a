"""How much of a k-greedy selection is decided by the predictor's training seed (issue 23).

R retrainings of the predictor (seeds ``--seeds``; same data, same split, same embeddings), each scoring the
corpus for the target model and selecting with the stage's own k-greedy engine (``ddcf.select.kgreedy.engine.select``,
the default pool: every corpus question), for every lambda of ``--lamdas`` and k of ``--ks``:

* the pairwise overlap of the selections: shared picks / k (mean, min), Jaccard (mean), and shared / k when a
  pick with a near-duplicate (cosine >= 0.9) among the other selection's picks counts as shared;
* the selection's mean predicted correctness (mean over seeds) -- what the selection is for;
* ``est``: the estimate written into report.json (``ddcf.select.stability.expected_overlap`` from one run's
  ensemble-member spread; exact only for the k lowest p, i.e. lambda 1);

and, per arch, the test mean per-model AUC (mean over seeds), the spread across seeds of each question's
predicted correctness (mean sd over the corpus, and over the union of the lambda-0.2 picks), the members'
standard error (what the estimate uses) and the seconds per retraining.  ``--paper`` adds ``--arch paper``.

``--consensus M`` adds, for the factor predictor, the same figures for ``ddcf select --stability consensus
--consensus_draws M`` (:mod:`ddcf.select.consensus`: k-greedy on the table's p and M-1 seeded draws
p + noise * se * z, the k most often picked), plus each rule's diversity (mean over the picks of the largest cosine
to another pick, ``max-cos``; lower = more diverse) and the consensus' shared / k with the plain selection of the
same retraining.  It costs M k-greedy runs per retraining, lambda and k.

    make demo WORKDIR=/tmp/demo     # once: the bundled data up to the predictor (3-8 min)
    python benchmarks/bench_selection_stability.py --workdir /tmp/demo            # 3 seeds, default predictor
    python benchmarks/bench_selection_stability.py --workdir /tmp/demo --paper    # + the paper's predictor
    python benchmarks/bench_selection_stability.py --workdir /tmp/demo --set ensemble=10 --json out.json
    python benchmarks/bench_selection_stability.py --workdir /tmp/demo --lamdas 0.2 --ks 1000 --consensus 16

``--flips N`` perturbs the data instead of the seed: every retraining uses the first seed, on training labels with
N answers flipped (a different seeded choice per retraining; issue 15 saw 18 of 88,090 verdicts change between two
verifications), so the table says how much of a selection a handful of changed verdicts decides.

``--set NAME=VALUE`` overrides a predictor option (repeatable), e.g. to compare ensemble sizes.  Training is
sequential, one thread; a k-greedy run of k=1,000 on the bundled corpus takes ~10-20 s on a busy 2-core box.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from ddcf.difficulty.scoring import corpus_text_features, has_member_spread, score_chunks
from ddcf.io import load_embeddings, write_json
from ddcf.layout import Layout
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.data import load_training_data
from ddcf.predictor.evaluation import evaluate_all, predictor_label
from ddcf.predictor.store import LoadedPredictor
from ddcf.predictor.train import train_predictor
from ddcf.select.consensus import DEFAULT_NOISE, consensus_kgreedy
from ddcf.select.kgreedy.engine import select
from ddcf.select.stability import expected_overlap, overlap, retraining_draw

TARGET = "Meta-Llama-3-8B-Instruct"
NEAR_DUP = 0.9


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def flipped(data, n: int, seed: int):
    """``data`` with ``n`` training answers flipped (0 <-> 1), chosen with ``seed``: a few changed verdicts."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(data.train), size=min(n, len(data.train)), replace=False)
    correct = data.train.correct.copy()
    correct[rows] = 1 - correct[rows]
    return dataclasses.replace(data, train=dataclasses.replace(data.train, correct=correct))


def retrain(layout: Layout, data, arch: str, seed: int, target: str, overrides: dict) -> dict:
    """Train one predictor, score the corpus for ``target``; P(correct), its members' SE, test AUC, seconds."""
    cfg = PredictorConfig(arch=arch, seed=seed, baselines=[], no_progress=True, no_plot=True, device="cpu",
                          **overrides)
    t = time.perf_counter()
    res = train_predictor(data, cfg)
    seconds = time.perf_counter() - t
    ev = evaluate_all(data, res, cfg)
    label = predictor_label(arch)
    pred = LoadedPredictor(model=res.model, config={"calibration": {"temperature": ev.temperature}},
                           config_sha256="", directory=layout.predictor_dir)
    corpus, ids, _ = load_embeddings(layout.corpus_embeddings, "corpus embeddings", mmap=True)
    se = np.empty((1, corpus.shape[0]), np.float32) if has_member_spread(pred) else None
    p = score_chunks(pred, corpus, [data.models.index(target)], progress=False,
                     text=corpus_text_features(pred, layout, ids), se_out=se)[0]
    return dict(seed=seed, p=p, se=None if se is None else se[0], seconds=seconds,
                test_auc=(ev.test or ev.val)[label]["mean_model_auc"], val_auc=ev.val[label]["mean_model_auc"])


def max_cos(x, rows) -> float:
    """Diversity of a selection: the mean over its picks of the largest cosine to another pick (lower: more
    diverse)."""
    v = np.asarray(x[np.asarray(rows)], np.float64)
    g = v @ v.T
    np.fill_diagonal(g, -np.inf)
    return float(g.max(1).mean())


def consensus_row(x, runs: list[dict], plain: list, lam: float, k: int, draws: int, noise: float) -> dict:
    """``--stability consensus`` on every retraining: overlap between retrainings, mean p, diversity, and how much
    of the plain k-greedy selection of the same retraining it keeps."""
    t = time.perf_counter()
    res = [consensus_kgreedy(x, r["p"].astype(np.float64), r["se"], k, lam, select, draws=draws, noise=noise,
                             device="cpu") for r in runs]
    picks = [c.indices for c in res]
    pairs = [overlap(a, b) for a, b in itertools.combinations(picks, 2)]
    near = [float(np.mean((x[a] @ x[b].T).max(1) >= NEAR_DUP)) for a, b in itertools.combinations(picks, 2)]
    return dict(rule=f"consensus{draws}", noise=noise, lamda=lam, k=k,
                shared_mean=float(np.mean([o["shared_frac"] for o in pairs])),
                shared_min=float(np.min([o["shared_frac"] for o in pairs])), near_dup_mean=float(np.mean(near)),
                jaccard_mean=float(np.mean([o["jaccard"] for o in pairs])),
                mean_p=float(np.mean([r["p"][s].mean() for r, s in zip(runs, picks)])),
                max_cos=float(np.mean([max_cos(x, s) for s in picks])),
                with_plain=float(np.mean([overlap(a, b)["shared_frac"] for a, b in zip(picks, plain)])),
                picks_in_every_draw=float(np.mean([c.stats["picks_in_every_draw"] for c in res])),
                est=None, est_lowest_k=None, seconds=time.perf_counter() - t, picks=[s.tolist() for s in picks])


def measure(x, runs: list[dict], lamdas, ks, consensus: int = 0, noise: float = DEFAULT_NOISE) -> list[dict]:
    rows = []
    for lam, k in itertools.product(lamdas, ks):
        t = time.perf_counter()
        picks = [select(x, r["p"].astype(np.float64), k, lam, device="cpu").indices for r in runs]
        seconds = time.perf_counter() - t
        pairs = [overlap(a, b) for a, b in itertools.combinations(picks, 2)]
        shared = [o["shared_frac"] for o in pairs]
        lowest = [expected_overlap(r["p"], r["se"], k) for r in runs if r["se"] is not None]
        # what report.json says: k-greedy again on one draw of "another retraining" (0 < lambda < 1)
        est = [overlap(s, select(x, retraining_draw(r["p"], r["se"]), k, lam, device="cpu").indices)["shared_frac"]
               for r, s in zip(runs, picks) if r["se"] is not None and 0 < lam < 1] or ([1.0] if lam == 0 else lowest)
        # a pick of one selection with a near-duplicate (cosine >= 0.9) among the other's picks counts as shared:
        # tells "other questions" from "the same questions' twins"
        near = [float(np.mean((x[a] @ x[b].T).max(1) >= NEAR_DUP)) for a, b in itertools.combinations(picks, 2)]
        rows.append(dict(rule="kgreedy", lamda=lam, k=k, shared_mean=float(np.mean(shared)),
                         shared_min=float(np.min(shared)), near_dup_mean=float(np.mean(near)),
                         jaccard_mean=float(np.mean([o["jaccard"] for o in pairs])),
                         mean_p=float(np.mean([r["p"][s].mean() for r, s in zip(runs, picks)])),
                         max_cos=float(np.mean([max_cos(x, s) for s in picks])), with_plain=1.0,
                         est=float(np.mean(est)) if est else None, seconds=seconds,
                         est_lowest_k=float(np.mean(lowest)) if lowest else None, picks=[s.tolist() for s in picks]))
        if consensus and all(r["se"] is not None for r in runs):
            rows.append(consensus_row(x, runs, picks, lam, k, consensus, noise))
    return rows


def noise_floor(x, run: dict, lam: float, k: int, sigmas) -> list[dict]:
    """Overlap of k-greedy on one run's p and on the *same* p plus Gaussian noise of sd sigma: how small the
    predictor's seed noise would have to be for a given overlap (no predictor is retrained)."""
    p = run["p"].astype(np.float64)
    base = select(x, p, k, lam, device="cpu").indices
    out = []
    for sigma in sigmas:
        q = np.clip(p + np.random.default_rng(0).normal(0.0, sigma, len(p)), 0, 1).astype(np.float32)
        out.append(dict(sigma=sigma, lamda=lam, k=k,
                        shared=overlap(base, select(x, q.astype(np.float64), k, lam, device="cpu").indices)
                        ["shared_frac"]))
    return out


def spread(runs: list[dict], rows: list[dict]) -> dict:
    p = np.stack([r["p"].astype(np.float64) for r in runs])
    sd = p.std(0, ddof=1)
    sel = [r for r in rows if abs(r["lamda"] - 0.2) < 1e-9 and r["rule"] == "kgreedy"]
    union = np.unique(np.concatenate([np.asarray(s) for s in sel[-1]["picks"]])) if sel else np.arange(0)
    se = [r["se"] for r in runs if r["se"] is not None]
    return dict(sd_mean=float(sd.mean()), sd_picks=float(sd[union].mean()) if len(union) else None,
                sd_max=float(sd.max()), se_mean=float(np.mean([s.mean() for s in se])) if se else None)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", required=True, help="a work dir with embeddings and the split (make demo)")
    ap.add_argument("--target", default=TARGET)
    ap.add_argument("--seeds", default="1,2,42", help="predictor seeds, comma-separated (R = their count)")
    ap.add_argument("--lamdas", default="0,0.2,0.5")
    ap.add_argument("--ks", default="100,1000")
    ap.add_argument("--paper", action="store_true", help="also --arch paper (slower: ~1-3 min per retraining)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="predictor option for --arch factor (repeatable)")
    ap.add_argument("--noise", default="1e-4,1e-3",
                    help="also: overlap of k-greedy on the first run's p vs the same p + N(0, sigma^2), for these "
                         "sigmas, at lambda 0.2 and the largest k ('' to skip)")
    ap.add_argument("--consensus", type=int, default=0, metavar="M",
                    help="also --stability consensus with M draws (factor predictor; 0: skip)")
    ap.add_argument("--consensus_noise", type=float, default=DEFAULT_NOISE,
                    help="--consensus_noise of those runs (units of the members' standard error)")
    ap.add_argument("--flips", type=int, default=0, metavar="N",
                    help="retrain with the first seed on training labels with N answers flipped, a different "
                         "seeded choice per retraining (R = the number of --seeds), instead of varying the seed")
    ap.add_argument("--json", help="write every figure (and the picks) here")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    if len(seeds) < 2:
        ap.error("--seeds needs at least two seeds")
    if args.flips < 0:
        ap.error("--flips must be >= 0")
    lamdas = [float(v) for v in args.lamdas.split(",")]
    ks = [int(v) for v in args.ks.split(",")]
    overrides = dict((kv.split("=", 1)[0], _value(kv.split("=", 1)[1])) for kv in args.set)
    layout = Layout(args.workdir)
    data = load_training_data(layout)
    x, _, _ = load_embeddings(layout.corpus_embeddings, "corpus embeddings")
    x = np.asarray(x)
    out = {"command": " ".join(map(shlex.quote, sys.argv)), "archs": {}}
    for arch in ("factor", "paper") if args.paper else ("factor",):
        runs = []
        for i, s in enumerate(seeds):
            run_data, run_seed = (flipped(data, args.flips, s), seeds[0]) if args.flips else (data, s)
            runs.append(retrain(layout, run_data, arch, run_seed, args.target, overrides if arch == "factor" else {}))
            what = f"{args.flips} labels flipped (choice {s})" if args.flips else f"seed {s}"
            print(f"[{arch}] {what}: trained in {runs[-1]['seconds']:.0f} s, test mean model AUC "
                  f"{runs[-1]['test_auc']:.4f}", file=sys.stderr, flush=True)
        t = time.perf_counter()
        rows = measure(x, runs, lamdas, ks, args.consensus if arch == "factor" else 0, args.consensus_noise)
        floor = noise_floor(x, runs[0], 0.2, max(ks), [float(v) for v in args.noise.split(",") if v]) \
            if arch == "factor" and args.noise else []
        out["archs"][arch] = dict(rows=rows, spread=spread(runs, rows), select_seconds=time.perf_counter() - t,
                                  noise_floor=floor,
                                  test_auc=[r["test_auc"] for r in runs], val_auc=[r["val_auc"] for r in runs],
                                  train_seconds=[r["seconds"] for r in runs])
    out["flips"] = args.flips
    print(format_table(out, seeds, args.target, overrides))
    if args.json:
        write_json(out, Path(args.json))
    return 0


def format_table(out: dict, seeds, target: str, overrides: dict) -> str:
    over = (f"{out['flips']} flipped training labels (choices {', '.join(map(str, seeds))}; predictor seed "
            f"{seeds[0]})" if out.get("flips") else f"predictor seeds {', '.join(map(str, seeds))}")
    lines = [f"Selection stability over {over} (R={len(seeds)}), target "
             f"{target}" + (f", factor options {overrides}" if overrides else ""),
             f"{'arch':<7}{'rule':<13}{'lambda':>7}{'k':>6}{'shared/k mean':>15}{'min':>7}{'Jaccard':>9}"
             f"{'near-dup':>10}{'est':>7}{'est lowest-k':>14}{'mean p(sel)':>13}{'max-cos':>9}{'vs plain':>10}"
             f"{'s':>6}"]

    def f3(v):
        return f"{v:.3f}" if v is not None else "-"

    for arch, res in out["archs"].items():
        for r in res["rows"]:
            lines.append(f"{arch:<7}{r['rule']:<13}{r['lamda']:>7g}{r['k']:>6}{r['shared_mean']:>15.3f}"
                         f"{r['shared_min']:>7.3f}{r['jaccard_mean']:>9.3f}{r['near_dup_mean']:>10.3f}"
                         f"{f3(r['est']):>7}{f3(r['est_lowest_k']):>14}{r['mean_p']:>13.4f}{r['max_cos']:>9.4f}"
                         f"{r['with_plain']:>10.3f}{r['seconds']:>6.0f}")
    lines.append(f"near-dup: shared/k counting a pick with a cosine >= {NEAR_DUP} twin among the other's picks as "
                 "shared (mean over pairs).")
    lines.append("max-cos: mean over the picks of the largest cosine to another pick (lower: more diverse); vs plain: "
                 "shared / k with the plain k-greedy of the same retraining; s: seconds for all retrainings.")
    lines.append("est: report.json's estimate (k-greedy on one draw of another retraining from the members' spread; "
                 "for lambda 0 or 1 the k-lowest estimate); est lowest-k: expected overlap of the k lowest p.")
    for arch, res in out["archs"].items():
        for r in res.get("noise_floor") or []:
            lines.append(f"{arch}: same p + N(0, {r['sigma']:g}^2) at lambda {r['lamda']:g}, k {r['k']}: shared/k "
                         f"{r['shared']:.3f}")
    lines.append("")
    for arch, res in out["archs"].items():
        s = res["spread"]
        lines.append(
            f"{arch}: test mean model AUC {np.mean(res['test_auc']):.4f} (val {np.mean(res['val_auc']):.4f}); "
            f"sd of p across seeds: corpus mean {s['sd_mean']:.4f}, lambda-0.2 picks {s['sd_picks'] or 0:.4f}, "
            f"max {s['sd_max']:.3f}" + (f"; members' SE mean {s['se_mean']:.4f}" if s["se_mean"] else "")
            + f"; {np.mean(res['train_seconds']):.0f} s per retraining, {res['select_seconds']:.0f} s selecting")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
