"""What a selection looks like next to a random subset of the same pool: numbers, text, plot.

The readers of a selection written earlier are in :mod:`ddcf.artifacts.selection`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.artifacts.embeddings import unit_rows
from ddcf.io import atomic_path
from ddcf.select.methods import DEFAULT_METHOD, METHODS, Method

GRAM_SAMPLE = 2000  # above this many rows, pairwise statistics come from a seeded sample of rows


def set_stats(x, rows: np.ndarray, predicted_correctness: np.ndarray, datasets: np.ndarray, seed: int = 0) -> dict:
    """Mean predicted correctness, mean pairwise cosine, mean nearest-neighbour cosine, dataset composition."""
    rows = np.asarray(rows)
    pc = predicted_correctness
    out = {
        "n": int(len(rows)),
        "mean_predicted_correctness": float(np.mean(pc[rows])) if len(rows) else float("nan"),
        "median_predicted_correctness": float(np.median(pc[rows])) if len(rows) else float("nan"),
    }
    sample = rows
    if len(rows) > GRAM_SAMPLE:
        sample = np.random.default_rng(seed).choice(rows, GRAM_SAMPLE, replace=False)
    out["pairwise_sample"] = int(len(sample))
    if len(sample) >= 2:
        # float32 is plenty for averages of cosines (descriptive statistics, not decisions); norms in float64
        v = unit_rows(x, np.sort(sample), dtype=np.float32, norm_dtype=np.float64)
        gram = v @ v.T
        iu = np.triu_indices(len(v), 1)
        out["mean_pairwise_similarity"] = float(gram[iu].mean(dtype=np.float64))
        np.fill_diagonal(gram, -np.inf)
        out["mean_nearest_neighbour_similarity"] = float(gram.max(axis=1).mean(dtype=np.float64))
    else:
        out["mean_pairwise_similarity"] = float("nan")
        out["mean_nearest_neighbour_similarity"] = float("nan")
    comp = pd.Series(datasets[rows]).value_counts()
    out["composition"] = {str(k): int(v) for k, v in comp.items()}
    return out


def method_label(method: str | None) -> str:
    """How tables and plots name a selection: '<registry label> selection' (a name the registry does not know,
    e.g. a method of a newer version: the name itself)."""
    name = method or DEFAULT_METHOD
    return f"{METHODS[name].label if name in METHODS else name} selection"


def annotation_cost(entry: Method, config, pool) -> tuple[int | None, str]:
    """The model answers a selection needed (count, words): its registry entry's kind, counted on this pool."""
    kind = entry.cost_kind(config)
    if kind == "none":
        return 0, "0"
    if kind == "corpus_pass":
        n = len(pool.ids)
        return n, f"{n:,} corpus answers (one scoring pass)"
    n = pool.meta.get("verdict_rows")  # seed_answers: the rows of the target's verdict table
    return (int(n), f"{int(n):,} seed answers") if n is not None else (None, "seed-set answers")


def summary_text(report: dict) -> str:
    """One screen: the selection next to the random subset and the pool."""
    sel, rnd, pool = report["selection"], report["random"], report["pool"]
    method = report.get("method", DEFAULT_METHOD)
    label = method_label(method)
    kgreedy = METHODS[method].kgreedy if method in METHODS else False
    head = "k-greedy selection" if kgreedy else f"--method {method} selection"
    corr = "measured pass rate" if report.get("pool_kind") == "seed" else "predicted correctness"
    lines = [
        f"Stage 6 - {head} for {report['model']}",
        (f"  lamda={report['lamda']:g}  " if kgreedy else "  ") + f"k={report['k']:,}  pool={pool['n']:,} "
        f"questions ({corr} <= {report['max_score']:g})  engine={report.get('engine', report.get('method'))}",
        f"  selected in {report['seconds_selection']:.1f} s (stage total {report['seconds_total']:.1f} s)",
        "",
        f"  {'':22s} {'mean pred. correctness':>22s} {'mean pairwise cos':>18s} {'mean NN cos':>12s}",
    ]
    for name, block in ((label, sel), (f"random k (seed {report['seed']})", rnd), ("whole pool", pool)):
        lines.append(
            f"  {name:22s} {block['mean_predicted_correctness']:22.3f} {block['mean_pairwise_similarity']:18.3f} "
            f"{block['mean_nearest_neighbour_similarity']:12.3f}"
        )
    lines.append(f"  ({corr} of the target model: lower = harder; NN = nearest neighbour within the set)")
    lines.append("")
    names = sorted(set(sel["composition"]) | set(rnd["composition"]) | set(pool["composition"]))
    lines.append(f"  {'composition':22s} " + " ".join(f"{n:>10s}" for n in names))
    for name, block in ((label, sel), ("random k", rnd), ("whole pool", pool)):
        total = max(block["n"], 1)
        lines.append(
            f"  {name:22s} " + " ".join(f"{block['composition'].get(n, 0) / total:10.1%}" for n in names)
        )
    st = report.get("stability")
    if st and st.get("rule"):  # a consensus selection (issue 23): its own agreement, not the plain rule's
        lines += ["", f"  stability: {st['rule']} of {st.get('draws', '?')} k-greedy runs; "
                      f"{st.get('picks_in_every_draw', float('nan')):.0%} of the picks were chosen in every run "
                      f"(mean inclusion {st.get('mean_inclusion', float('nan')):.0%}; report.json 'stability')"]
    elif st:  # issue 23: how much of the selection another predictor seed would keep
        est = st.get("reselect_overlap", st["expected_overlap"])
        lines += ["", f"  stability: a retraining of the predictor with another seed would keep ~{est:.0%} of the "
                      f"picks (estimate from the ensemble members' spread; report.json 'stability')"]
    return "\n".join(lines)


def plot_report(path: str | Path, pool_pc: np.ndarray, sel_pc: np.ndarray, rnd_pc: np.ndarray,
                max_sim: np.ndarray, cost: np.ndarray, title: str, label: str = "DDCF selection") -> Path:
    """Predicted-correctness histograms (pool / selection / random) and max-similarity + cost over rank."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    bins = np.linspace(0.0, 1.0, 41)
    ax1.hist(pool_pc, bins=bins, density=True, alpha=0.35, label=f"pool (n={len(pool_pc):,})", color="grey")
    ax1.hist(rnd_pc, bins=bins, density=True, histtype="step", lw=1.5, label="random k", color="tab:blue")
    ax1.hist(sel_pc, bins=bins, density=True, histtype="step", lw=2, label=label, color="tab:red")
    ax1.set_xlabel("predicted correctness (lower = harder)")
    ax1.set_ylabel("density")
    ax1.legend()
    ranks = np.arange(1, len(max_sim) + 1)
    ax2.plot(ranks, max_sim, lw=1, color="tab:red", label="max cos to earlier picks")
    ax2.set_xlabel("rank (pick order)")
    ax2.set_ylabel("max cosine similarity at pick")
    ax3 = ax2.twinx()
    ax3.plot(ranks, cost, lw=1, color="black", alpha=0.6, label="cost at pick")
    ax3.set_ylabel("cost")
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = ax3.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
