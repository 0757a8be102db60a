"""Quality of the correctness predictor against its baselines on held-out questions, over several seeds.

The honest protocol of issue 12: for each seed s in 0..N-1 the questions are split by question (validation
10%, test 10%, stratified by dataset, seed s); the default predictor (``arch=factor``, seed s) and the
paper's predictor (``arch=paper``, seed s) are trained on the training questions, their epochs and the
temperature of the calibration are chosen on validation, and every baseline (per-model base rate,
per-model-per-dataset base rate, kNN with k chosen on validation, per-model logistic regression, IRT) is
fitted once per seed by ``ddcf.predictor.evaluation.evaluate_all``.  Test questions are only scored.

    python benchmarks/bench_predictor_quality.py                       # bundled data, 5 seeds (~several min)
    python benchmarks/bench_predictor_quality.py --seeds 2 --skip_paper  # quick
    python benchmarks/bench_predictor_quality.py --transfer            # train GSM8K -> test MATH L5, and back
    python benchmarks/bench_predictor_quality.py --workdir W --json out.json

Without ``--workdir`` it builds (once) a work dir from the bundled real data; see predictor_bench_data.py.

Output: one table on TEST questions, methods x metrics (accuracy, ROC-AUC, log loss, ECE, mean per-model
AUC, and mean per-model Spearman against measured pass rates when the matrix has them), each cell
"mean ± sd" over the seeds (sample sd); the same on validation below it; then, per metric, the best method
and whether the default predictor is best or *tied within noise* with every other method -- tied means
the mean paired per-seed difference is smaller than the sd of that difference, or smaller than 0.002 (the
output says which); last the median seconds per method (fitting; the predictors' include training).
``--transfer``: the same, with the training and validation questions from one dataset only and the test
questions from the other (the predictor never saw that task mix); per-model AUC within the test dataset
is the figure to read.  ``--json OUT`` writes every per-seed figure.
"""

from __future__ import annotations

import argparse
import math
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import predictor_bench_data as bd

from ddcf.io import write_json
from ddcf.matrix.split import split_by_question
from ddcf.predictor.calibration import apply_temperature, logit
from ddcf.predictor.config import FACTOR_ONLY, PAPER_ONLY, PredictorConfig
from ddcf.predictor.evaluation import evaluate_all, pair_metrics, predictor_label
from ddcf.predictor.neighbours import NeighbourTable, blend_logits, choose_blend
from ddcf.predictor.train import train_predictor

METRICS = ("accuracy", "auc", "log_loss", "ece", "mean_model_auc", "mean_model_spearman")
HEADERS = dict(accuracy="accuracy", auc="AUC", log_loss="log loss", ece="ECE", mean_model_auc="mean model AUC",
               mean_model_spearman="mean model Spearman")
LOWER_IS_BETTER = {"log_loss", "ece"}
DEFAULT = predictor_label("factor")
KNN = "kNN (k on val)"
BLEND = "predictor (factor) + kNN blend (on val)"


def _label(name: str) -> str:
    """One row per method across seeds: kNN's label carries the k it chose, which may differ by seed."""
    return KNN if name.startswith("kNN (k=") else name


def run_seed(mat: bd.Matrix, side: dict[str, str], seed: int, skip_paper: bool = False,
             overrides: dict | None = None, blend: bool = True) -> dict:
    """Train and evaluate every method on one split; per-seed figures (val, test, seconds, chosen)."""
    data = bd.make_data(mat, side)
    out = {"seed": seed, "val": {}, "test": {}, "seconds": {}, "chosen": {},
           "n_questions": {k: data.stats[f"n_{k}_questions"] for k in ("train", "val", "test")}}
    archs = ("factor",) if skip_paper else ("factor", "paper")
    for arch in archs:
        extra = {} if arch == "factor" else {"baselines": []}  # the baselines are fitted once per seed
        # each arch gets the overrides it reads (it refuses the other arch's options)
        other = PAPER_ONLY if arch == "factor" else FACTOR_ONLY
        own = {k: v for k, v in (overrides or {}).items() if k not in other}
        cfg = PredictorConfig(arch=arch, no_progress=True, seed=seed, **extra, **own)
        t = time.perf_counter()
        res = train_predictor(data, cfg)
        seconds = time.perf_counter() - t
        ev = evaluate_all(data, res, cfg)
        for split in ("val", "test"):
            for name, m in (getattr(ev, split) or {}).items():
                out[split][_label(name)] = m
        out["seconds"][predictor_label(arch)] = seconds
        out["seconds"].update({_label(k): v for k, v in ev.seconds.items()})
        out["chosen"].update(ev.chosen)
        if arch == "factor" and blend:
            _blend_row(data, ev, out)
    return out


def _blend_row(data, ev, out: dict) -> None:
    """The default predictor mixed with the neighbour estimate, the mix chosen on validation
    (``ddcf.predictor.neighbours``): issue 23's "blending in a neighbour estimate" measured, not the default."""
    t = time.perf_counter()
    tr_rows, tr_q = np.unique(data.train.q_row, return_inverse=True)
    table = NeighbourTable.from_pairs(data.embeddings[tr_rows], tr_q, data.train.model_id, data.train.correct,
                                      len(data.models))
    z = {split: logit(ev.predictions[split][DEFAULT]) for split in ("val", "test") if split in ev.predictions}

    def rows(pairs):
        r, q = np.unique(pairs.q_row, return_inverse=True)
        return data.embeddings[r], q

    xv, qv = rows(data.val)
    b = choose_blend(table, xv, qv, data.val.model_id, data.val.correct, z["val"])
    for split, pairs in (("val", data.val), ("test", data.test)):
        if split in z:
            x, q = rows(pairs)
            p = apply_temperature(blend_logits(table, b, x, q, pairs.model_id, z[split]), 1.0)
            out[split][BLEND] = pair_metrics(pairs, p)
    out["seconds"][BLEND] = time.perf_counter() - t
    out["chosen"][BLEND] = b.describe()


def main_splits(mat: bd.Matrix, seeds: int) -> list[tuple[int, dict]]:
    return [(s, bd.question_split(mat, s)) for s in range(seeds)]


def transfer_splits(mat: bd.Matrix, seeds: int, test_dataset: str) -> list[tuple[int, dict]]:
    """Train/val: every other dataset's questions (val 10%, seed s); test: every question of ``test_dataset``."""
    strata = mat.strata()
    src = [q for q, d in strata.items() if d != test_dataset]
    out = []
    for s in range(seeds):
        side = split_by_question(src, 0.1, 0.0, seed=s, strata=strata)
        side.update({q: "test" for q, d in strata.items() if d == test_dataset})
        out.append((s, side))
    return out


def run_protocol(mat: bd.Matrix, splits: list[tuple[int, dict]], skip_paper: bool = False,
                 overrides: dict | None = None, log=print, blend: bool = True) -> list[dict]:
    runs = []
    for s, side in splits:
        t = time.perf_counter()
        r = run_seed(mat, side, s, skip_paper, overrides, blend)
        runs.append(r)
        d = r["test"].get(DEFAULT, {})
        log(f"  seed {s}: {time.perf_counter() - t:.0f} s; default predictor on test: "
            f"AUC {d.get('auc', math.nan):.4f}, mean model AUC {d.get('mean_model_auc', math.nan):.4f}, "
            f"ECE {d.get('ece', math.nan):.4f}")
    return runs


def _methods(runs: list[dict], split: str) -> list[str]:
    names: list[str] = []
    for r in runs:
        names += [n for n in r[split] if n not in names]
    return names


def _metrics_present(runs: list[dict], split: str) -> list[str]:
    return [k for k in METRICS if any(k in m for r in runs for m in r[split].values())]


def per_seed(runs: list[dict], split: str, method: str, metric: str) -> list[float]:
    return [float(r[split].get(method, {}).get(metric, math.nan)) for r in runs]


def table(runs: list[dict], split: str, digits: int = 4) -> str:
    """Methods x metrics, "mean ± sd" over the seeds."""
    keys = _metrics_present(runs, split)
    headers = ["method"] + [HEADERS[k] for k in keys]
    rows = [[n] + [bd.fmt(*bd.mean_sd(per_seed(runs, split, n, k)), digits) for k in keys]
            for n in _methods(runs, split)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def verdicts(runs: list[dict], split: str = "test", default: str = DEFAULT) -> tuple[str, bool]:
    """Per metric: the best method, and the default predictor vs every other method; (text, all best or tied)."""
    lines, ok_all = [], True
    methods = _methods(runs, split)
    if default not in methods:
        return f"(no {default} rows)", False
    for k in _metrics_present(runs, split):
        sign = -1.0 if k in LOWER_IS_BETTER else 1.0
        means = {n: bd.mean_sd(per_seed(runs, split, n, k))[0] for n in methods}
        ranked = [n for n in methods if not math.isnan(means[n])]
        if not ranked:
            continue
        best = max((n for n in ranked if n != BLEND), key=lambda n: sign * means[n])
        worse_than = []
        notes = []
        for n in ranked:
            if n in (default, BLEND):  # the blend is a variant of the default, measured beside it
                continue
            is_tied, d, sd = bd.tied(per_seed(runs, split, default, k), per_seed(runs, split, n, k))
            if sign * d > 0:
                continue  # the default is better on the mean
            if is_tied:
                why = f"|d| < sd {sd:.4f}" if abs(d) < sd else f"|d| < {bd.TIE_FLOOR}"
                notes.append(f"tied with {n} ({why})")
            else:
                worse_than.append(f"{n} by {abs(d):.4f} (sd {sd:.4f})")
        ok = not worse_than
        ok_all &= ok
        status = ("BEST" if best == default else "best or tied") if ok else "NOT best: worse than " + "; ".join(
            worse_than)
        lines.append(f"  {HEADERS[k]:20s} best: {best} ({means[best]:.4f}); default {means[default]:.4f}: {status}"
                     + (f" [{'; '.join(notes)}]" if notes and ok else ""))
    k = "mean_model_auc"
    if BLEND in methods and KNN in methods and k in _metrics_present(runs, split):
        _, d, sd = bd.tied(per_seed(runs, split, BLEND, k), per_seed(runs, split, default, k))
        _, lead, lead_sd = bd.tied(per_seed(runs, split, default, k), per_seed(runs, split, KNN, k))
        _, blead, blead_sd = bd.tied(per_seed(runs, split, BLEND, k), per_seed(runs, split, KNN, k))
        lines.append(f"  kNN blend (not the default; w and k chosen on validation): mean model AUC {d:+.4f} "
                     f"(sd {sd:.4f}) against the default; lead over kNN: default {lead:+.4f} (sd {lead_sd:.4f}), blend "
                     f"{blead:+.4f} (sd {blead_sd:.4f})")
    return "\n".join(lines), ok_all


def timing(runs: list[dict]) -> str:
    names = _methods(runs, "test") or _methods(runs, "val")
    cells = [f"{n}: {statistics.median([r['seconds'][n] for r in runs if n in r['seconds']]):.1f} s"
             for n in names if any(n in r["seconds"] for r in runs)]
    return "median seconds per fit: " + "; ".join(cells)


def report(runs: list[dict], title: str) -> tuple[str, bool]:
    n = len(runs)
    q = runs[0]["n_questions"] if runs else {}
    text, ok = verdicts(runs)
    parts = [
        f"\n== {title}: TEST questions, mean ± sd over {n} seed(s) "
        f"(~{q.get('train', 0)} train / {q.get('val', 0)} val / {q.get('test', 0)} test questions) ==",
        table(runs, "test"),
        f"\nvalidation questions (chose epochs, temperature, k, C, l2), mean ± sd over {n} seed(s):",
        table(runs, "val", digits=3),
        f"\nper metric on test, default = {DEFAULT}; 'tied' = |mean paired per-seed difference| < its sd, "
        f"or < {bd.TIE_FLOOR}:",
        text,
        f"  => default predictor best or tied on every metric: {'YES' if ok else 'NO'}",
        timing(runs),
    ]
    return "\n".join(parts), ok


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", default=None, help="Work dir with the matrix and seed embeddings (default: build "
                   "one from the bundled data under $TMPDIR).")
    p.add_argument("--seeds", type=int, default=5, help="Seeds 0..N-1 (split and training; default 5).")
    p.add_argument("--skip_paper", action="store_true", help="Leave out the paper's predictor (arch paper).")
    p.add_argument("--transfer", action="store_true", help="Instead of the main protocol: train/val on one "
                   "dataset, test on another (each dataset in turn is the test one).")
    p.add_argument("--ensemble", type=int, default=None, help="Override the default predictor's ensemble size "
                   "(for quick runs; default: the predictor's own default).")
    p.add_argument("--dataset", default=None, help="Use only this dataset's questions (e.g. math: a "
                   "within-dataset matrix, where the dataset itself says nothing about difficulty).")
    p.add_argument("--no_blend", action="store_true", help="Leave out the row of the default predictor mixed with "
                   "the kNN estimate (mix weight and k chosen on validation; ddcf.predictor.neighbours).")
    p.add_argument("--json", default=None, help="Write every per-seed figure to this JSON file.")
    a = p.parse_args(argv)
    if a.seeds < 1:
        p.error("--seeds must be >= 1")
    print("command: python " + " ".join(shlex.quote(x) for x in [sys.argv[0], *(argv or sys.argv[1:])]))
    t0 = time.perf_counter()
    workdir = bd.ensure_workdir(a.workdir)
    mat = bd.load_matrix(workdir)
    if a.dataset:
        mat = bd.only_dataset(mat, a.dataset)
    overrides = {"ensemble": a.ensemble} if a.ensemble else {}
    datasets = sorted(mat.rows["dataset"].unique())
    print(f"matrix: {len(mat.models)} models, {mat.rows['question_id'].nunique():,} questions, {len(mat.rows):,} "
          f"answered pairs, datasets {', '.join(datasets)}; pass rates: {'yes' if mat.rates is not None else 'no'}")
    results, ok = {}, True
    if a.transfer:
        if len(datasets) < 2:
            raise SystemExit("--transfer needs a matrix with at least two datasets; this one has "
                             f"{', '.join(datasets)}.")
        for test_ds in datasets:
            title = f"transfer: train/val on {', '.join(d for d in datasets if d != test_ds)}, test on {test_ds}"
            print(f"\n{title}")
            runs = run_protocol(mat, transfer_splits(mat, a.seeds, test_ds), a.skip_paper, overrides,
                                blend=not a.no_blend)
            results[title] = runs
            text, good = report(runs, title)
            ok &= good
            print(text)
    else:
        print(f"\nmain protocol: val 0.1, test 0.1 by question, stratified by dataset; seeds 0..{a.seeds - 1}")
        runs = run_protocol(mat, main_splits(mat, a.seeds), a.skip_paper, overrides, blend=not a.no_blend)
        results["main"] = runs
        text, ok = report(runs, "main protocol")
        print(text)
    if a.json:
        write_json(dict(command=sys.argv, workdir=str(workdir), results=results), a.json)
        print(f"per-seed figures: {a.json}")
    print(f"wall time: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
