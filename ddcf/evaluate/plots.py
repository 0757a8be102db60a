"""Bar chart of several evaluation runs: one group of bars per Table 2 column, one bar per run."""

from __future__ import annotations

from pathlib import Path

from ddcf.evaluate.tables import COLUMNS
from ddcf.io import atomic_path


def comparison_chart(labels: list[str], rows: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cols = [c for c in COLUMNS if any(r.get(c) is not None for r in rows)]
    x = np.arange(len(cols))
    width = 0.8 / max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(cols) + 2), 4.2))
    for j, (label, row) in enumerate(zip(labels, rows)):
        vals = [row.get(c) if row.get(c) is not None else 0.0 for c in cols]
        ax.bar(x - 0.4 + width * (j + 0.5), vals, width, label=label)
    ax.set_xticks(x, cols, rotation=30, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.set_title("Evaluation runs (Table 2 columns)")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return Path(path)
