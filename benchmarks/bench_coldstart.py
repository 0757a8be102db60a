"""Cold start of a new target model (`ddcf probe plan` + `ddcf probe fit`) on the bundled ZeroEval matrix.

Leave-models-out: the models that answered both datasets are dealt (seeded) into ``--groups`` groups; per group
the predictor is retrained once WITHOUT any row of that group's models (same question split: val 10%, test 10%,
stratified by dataset, ``--split_seed``; validation picks its epochs and temperature).  Each held-out model is
then a "new" model: the planner picks ``n`` probe questions among the TRAINING questions it answered (strategies
doptimal, spread, information; random: ``--draws`` draws, mean), its row is fitted from those answers alone
(``ddcf.probe.rowfit``, everything else frozen), and it is scored on its TEST questions (mean per-model AUC and
accuracy over the held-out models), for n in 25, 50, 100, 200, 400 and all its training questions.  The
reference is the same model in a predictor trained with every model ("full matrix").  The predictor is the
default arch with ``--ensemble`` members (2 by default here, for speed; the stage's default is 5).

    python benchmarks/bench_coldstart.py                      # bundled data, a few minutes on 2 cores
    python benchmarks/bench_coldstart.py --groups 2 --ensemble 1 --sizes 25,100,all   # quick

Prints the table and whether the issue's targets hold, writes a PNG (``--png``) and JSON (``--json``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import predictor_bench_data as bd

from ddcf.io import atomic_path, write_json
from ddcf.predictor.calibration import fit_temperature
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.inference import predict_logits
from ddcf.predictor.metrics import accuracy, roc_auc
from ddcf.predictor.train import train_predictor
from ddcf.probe.plan import choose
from ddcf.probe.rowfit import fit_row, information_basis, known_logits, question_factors, row_space

STRATEGIES = ("doptimal", "spread", "information", "random")


def train(mat, side, models, args):
    import torch

    data = bd.make_data(mat, side, models)
    cfg = PredictorConfig(ensemble=args.ensemble, baselines=[], no_progress=True, no_plot=True, seed=args.seed)
    res = train_predictor(data, cfg)
    emb = torch.from_numpy(data.model_inputs(res.model))
    z = predict_logits(res.model, emb, torch.from_numpy(data.val.model_id), torch.from_numpy(data.val.q_row), 65536)
    return data, res.model, fit_temperature(z, data.val.correct)


def model_rows(mat, side, model):
    r = mat.rows[mat.rows["model"] == model]
    s = r["question_id"].map(side)
    return r[s == "train"], r[s == "test"]


def metrics(y, z):
    return roc_auc(y, z), accuracy(y, 1 / (1 + np.exp(-z)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", help="work dir with matrix + seed embeddings (default: built from bundled data)")
    ap.add_argument("--groups", type=int, default=6)
    ap.add_argument("--ensemble", type=int, default=2)
    ap.add_argument("--sizes", default="0,25,50,100,200,400,all",
                    help="probe sizes; 0 = no answers (the average known model's row), all = every training question")
    ap.add_argument("--draws", type=int, default=3, help="random probe draws per size (their mean is reported)")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--prior_strength", type=float, default=1.0)
    ap.add_argument("--split_seed", type=int, default=0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--png", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    mat = bd.load_matrix(bd.ensure_workdir(args.workdir))
    side = bd.question_split(mat, args.split_seed)
    n_ds = mat.rows["dataset"].nunique()
    both = mat.rows.groupby("model")["dataset"].nunique()
    eligible = sorted(both[both == n_ds].index)
    rng = np.random.default_rng(args.seed)
    order = [eligible[i] for i in rng.permutation(len(eligible))]
    groups = [order[g::args.groups] for g in range(args.groups)]
    sizes = [s.strip() for s in args.sizes.split(",")]
    strategies = [s.strip() for s in args.strategies.split(",")]
    print(f"{len(mat.models)} models, {len(eligible)} answered both datasets; {args.groups} held-out groups; "
          f"ensemble {args.ensemble}; split seed {args.split_seed}")

    t = time.perf_counter()
    full_data, full_model, full_t = train(mat, side, mat.models, args)
    print(f"full-matrix predictor: {time.perf_counter() - t:.0f} s (T = {full_t:.3f})")
    qindex = {q: i for i, q in enumerate(mat.emb_ids)}
    arr = bd.model_inputs(mat, full_model)  # embeddings (+ text statistics when the predictor reads them)
    full_f = question_factors(full_model, arr)
    ref = {}
    for m in eligible:
        _, te = model_rows(mat, side, m)
        z = known_logits(full_model, full_f[[qindex[q] for q in te["question_id"]]], [mat.models.index(m)])[:, 0]
        ref[m] = metrics(te["correct"].to_numpy(), z)

    res = {s: {n: [] for n in sizes} for s in strategies}  # strategy -> size -> [(auc, acc) per held-out model]
    for gi, group in enumerate(groups):
        t = time.perf_counter()
        kept = [m for m in mat.models if m not in set(group)]
        data, model, temp = train(mat, side, kept, args)
        known = sorted(set(data.train.model_id.tolist()))
        factors = question_factors(model, arr)
        space = row_space(model, known)
        p_all = 1 / (1 + np.exp(-known_logits(model, factors, known) / temp))
        g_all = information_basis(space, factors)
        for m in group:
            tr, te = model_rows(mat, side, m)
            ci = np.array([qindex[q] for q in tr["question_id"]])
            ti = np.array([qindex[q] for q in te["question_id"]])
            y_tr, y_te, ds = tr["correct"].to_numpy(), te["correct"].to_numpy(), tr["dataset"].to_numpy()
            for s in strategies:
                for n in sizes:
                    draws = args.draws if s == "random" and n not in ("all", "0") else 1
                    out = []
                    for d in range(draws):
                        if n == "0":  # no answers: the prior mean (the average known model's row)
                            d0, b0 = space.directions(space.mean)
                            out.append(metrics(y_te, (factors[ti] @ d0 + b0).detach().numpy()))
                            continue
                        picks = (np.arange(len(ci)) if n == "all" else
                                 choose(s, int(n), p_all[ci], ds, d, g_all[ci], temp, args.prior_strength))
                        fit = fit_row(space, factors[ci[picks]], y_tr[picks], temp, args.prior_strength)
                        out.append(metrics(y_te, fit.logits(space, factors[ti])))
                    res[s][n].append(tuple(np.nanmean(np.array(out, float), axis=0)))
        print(f"group {gi + 1}/{args.groups} ({len(group)} held out): {time.perf_counter() - t:.0f} s")

    held = [m for g in groups for m in g]
    full_auc = float(np.nanmean([ref[m][0] for m in held]))
    full_acc = float(np.nanmean([ref[m][1] for m in held]))
    table = {s: {n: tuple(np.nanmean(np.array(v, float), axis=0)) for n, v in res[s].items()} for s in strategies}
    head = f"{'probe size':>10}  " + "  ".join(f"{s + ' AUC':>16}" for s in strategies) + "  " + \
        "  ".join(f"{s + ' acc':>16}" for s in strategies)
    print(f"\nmean over {len(held)} held-out models, their TEST questions; full matrix: AUC {full_auc:.4f}, "
          f"accuracy {full_acc:.4f}")
    print(head)
    for n in sizes:
        print(f"{n:>10}  " + "  ".join(f"{table[s][n][0]:>16.4f}" for s in strategies) + "  "
              + "  ".join(f"{table[s][n][1]:>16.4f}" for s in strategies))
    verdict = {}
    chosen = [s for s in strategies if s != "random"]
    if chosen and "random" in strategies:
        best = max(chosen, key=lambda s: np.mean([table[s][n][0] for n in sizes if n not in ("all", "0")]))
        gap = full_auc - table[best].get("100", (math.nan,))[0]
        below = [n for n in sizes if n != "all" and 0 < int(n) < 400]
        diffs = {n: table[best][n][0] - table["random"][n][0] for n in below}
        better = {n: bool(d > 0) for n, d in diffs.items()}
        verdict = dict(best=best, gap_at_100=gap, within_002_at_100=bool(gap <= 0.02), better_than_random=better,
                       better_everywhere_below_400=all(better.values()))
        print(f"\nbest chosen strategy: {best}. Target 1 (100 chosen probes within 0.02 AUC of the full matrix): "
              f"{'HOLDS' if gap <= 0.02 else 'MISSED'} (gap {gap:+.4f}). Target 2 (chosen better than random at "
              f"every size below 400): {'HOLDS' if all(better.values()) else 'MISSED'} "
              f"({', '.join(f'{n}: {d:+.4f}' for n, d in diffs.items())}).")
    seconds = time.perf_counter() - t_start
    print(f"total {seconds:.0f} s")
    png = Path(args.png) if args.png else (Path(args.json).with_suffix(".png") if args.json else
                                            bd.default_workdir() / "coldstart.png")
    _plot(table, sizes, strategies, full_auc, png)
    print(f"wrote {png}")
    if args.json:
        write_json(dict(args=vars(args), full_auc=full_auc, full_acc=full_acc, groups=groups,
                        table={s: {n: list(v) for n, v in table[s].items()} for s in strategies}, verdict=verdict,
                        seconds=seconds), args.json)
    return 0


def _plot(table, sizes, strategies, full_auc, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(sizes))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for s in strategies:
        ax.plot(x, [table[s][n][0] for n in sizes], marker="o", label=s)
    ax.axhline(full_auc, color="k", ls="--", label="full matrix")
    ax.axhline(full_auc - 0.02, color="grey", ls=":", label="full - 0.02")
    ax.set_xticks(x, sizes)
    ax.set_xlabel("probe answers of the new model")
    ax.set_ylabel("mean per-model AUC (test questions)")
    ax.set_title("Cold start on the bundled ZeroEval matrix (leave-models-out)")
    ax.legend(fontsize=8)
    with atomic_path(png, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
