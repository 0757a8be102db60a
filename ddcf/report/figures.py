"""The report's PNG figures (matplotlib, Agg): the corpus map, composition, the lambda sweep, the Jaccard heatmap.

Every figure takes ``colours`` (selection label -> colour, :func:`ddcf.report.palette.selection_colours`), so a
selection has one colour on all of them: its bars, its sweep marker, its map panel's frame and title, its
Jaccard labels.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.report.palette import CORPUS

CMAP = "RdYlGn"  # red = low predicted correctness (hard for the target), green = easy
DPI = 110
TOP_CATEGORIES = 12


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, format="png", bbox_inches="tight")  # long model names must not be cut off
    _plt().close(fig)
    return path


def map_figure(path: Path, coords: np.ndarray, background: np.ndarray, selections, predicted: dict,
               colours: dict[str, str]) -> Path:
    """One panel per selection: the corpus (``background`` rows) and every selected point, coloured by the
    selection's target model's predicted correctness (grey where the target's table is absent); the panel's
    frame and title carry the selection's own colour."""
    plt = _plt()
    n = len(selections)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.6 * rows), squeeze=False)
    scatter = None
    for ax, s in zip(axes.flat, selections):
        pc = predicted.get(s.model)
        bg = coords[background]
        if pc is None:
            ax.scatter(bg[:, 0], bg[:, 1], s=5, c="lightgrey", linewidths=0, rasterized=True)
        else:
            ax.scatter(bg[:, 0], bg[:, 1], s=5, c=pc[background], cmap=CMAP, vmin=0, vmax=1, alpha=0.35,
                       linewidths=0, rasterized=True)
        pts = coords[s.rows]
        colour = pc[s.rows] if pc is not None else s.table.get("predicted_correctness", pd.Series(0.5)).to_numpy()
        scatter = ax.scatter(pts[:, 0], pts[:, 1], s=16, c=colour, cmap=CMAP, vmin=0, vmax=1, edgecolors="black",
                             linewidths=0.5, zorder=3)
        ax.set_title(f"{s.label}\n(k={s.k:,})", fontsize=9, color=colours[s.label], fontweight="bold")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor(colours[s.label])
            spine.set_linewidth(3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if scatter is not None:
        fig.colorbar(scatter, ax=axes.ravel().tolist(), shrink=0.8, label="predicted correctness of the target")
    return _save(fig, path)


def composition_figure(path: Path, corpus_values: pd.Series, selections, column: str,
                       colours: dict[str, str]) -> Path:
    """Share of each category (corpus ``column``) in the corpus and in every selection."""
    plt = _plt()
    share = {"corpus": corpus_values.value_counts(normalize=True)}
    for s in selections:
        share[s.label] = corpus_values.iloc[s.rows].value_counts(normalize=True)
    top = list(share["corpus"].index[:TOP_CATEGORIES])
    for s in selections:  # a category a selection favours is shown even when rare in the corpus
        top += [c for c in share[s.label].index[:3] if c not in top]
    table = pd.DataFrame({name: v.reindex(top).fillna(0.0) for name, v in share.items()})
    other = 1.0 - table.sum(axis=0)
    if (other > 1e-9).any():
        table.loc["(other)"] = other.clip(lower=0.0)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(table) * (1 + 0.35 * len(share)) + 1.6 + 0.2 * len(share)))
    height = 0.8 / len(share)
    y = np.arange(len(table))
    for i, name in enumerate(table.columns):
        ax.barh(y + i * height, table[name].to_numpy(), height, label=name,
                color=CORPUS if name == "corpus" else colours[name])
    ax.set_yticks(y + 0.4 - height / 2, [str(c) for c in table.index])
    ax.invert_yaxis()
    ax.set_xlabel(f"share of questions ({column})")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2)  # below: never over a bar
    fig.tight_layout()
    return _save(fig, path)


def sweep_figure(path: Path, sweep: dict, others: pd.DataFrame, colours: dict[str, str]) -> Path:
    """Mean predicted correctness vs mean pairwise cosine along lambda; ``others``: the table rows of the
    selections of the same target (drawn as markers)."""
    plt = _plt()
    pts = sweep["points"]
    xs = [p["mean_pairwise_similarity"] for p in pts]
    ys = [p["mean_predicted_correctness"] for p in pts]
    fig, ax = plt.subplots(figsize=(7, 5))
    own_colour = colours[sweep["selection"]]
    ax.plot(xs, ys, "-o", color=own_colour, alpha=0.55, ms=4, label=f"{sweep['selection']}: lambda sweep")
    last = None
    span = (max(xs) - min(xs)) or 1.0
    for p, x, y in zip(pts, xs, ys):
        if last is None or abs(x - last) > 0.03 * span:  # neighbours closer than that would print over each other
            ax.annotate(f"{p['lamda']:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
            last = x
    own = [p for p in pts if p.get("is_selection")]
    if own:
        ax.scatter([own[0]["mean_pairwise_similarity"]], [own[0]["mean_predicted_correctness"]], marker="*",
                   s=260, color=own_colour, edgecolors="black", zorder=4,
                   label=f"{sweep['selection']} (λ={own[0]['lamda']:g}, the selection)")
    for _, row in others.iterrows():
        ax.scatter([row["mean_pairwise_similarity"]], [row["mean_predicted_correctness"]], marker="s", s=60,
                   color=colours[row["selection"]], edgecolors="black", zorder=3, label=row["selection"])
    ax.set_xlabel("mean pairwise cosine similarity of the selection (lower = more diverse)")
    ax.set_ylabel("mean predicted correctness (lower = harder)")
    ax.set_title(f"{sweep['model']}: k={sweep['k']:,}, pool max_score {sweep['max_score']:g}", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def jaccard_figure(path: Path, matrix: np.ndarray, labels: list[str], title: str, colours: dict[str, str]) -> Path:
    plt = _plt()
    n = len(labels)
    # selection labels run to ~80 characters (model · method · k · folder): wrapped, and the figure grows with
    # the longest line, so the tick labels fit instead of matplotlib giving up on the layout
    shown = [textwrap.fill(label, 30) for label in labels]
    colour_of = {s: colours[label] for s, label in zip(shown, labels)}
    extra = 0.075 * max((len(line) for s in shown for line in s.split("\n")), default=0)
    fig, ax = plt.subplots(figsize=(2.2 + 0.9 * n + extra, 1.6 + 0.8 * n + extra))
    im = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(n), shown, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(n), shown, fontsize=8)
    for tick in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        tick.set_color(colour_of[tick.get_text()])
        tick.set_fontweight("bold")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if matrix[i, j] < 0.6 else "black")
    fig.colorbar(im, ax=ax, label="Jaccard overlap")
    ax.set_title(title.replace("; ", "\n"), fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
