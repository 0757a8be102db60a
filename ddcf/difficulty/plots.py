"""The histogram of a model's predicted correctness over the corpus (stage 5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ddcf.io import atomic_path


def plot_histogram(p: np.ndarray, model: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.hist(p, bins=50, range=(0, 1), color="#4472c4")
    ax.set_xlabel("predicted P(correct)  (lower = harder)")
    ax.set_ylabel("corpus questions")
    ax.set_title(f"{model}: {len(p):,} questions, mean {np.mean(p):.3f}", fontsize=10)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
