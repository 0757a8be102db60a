"""The figures of stage 4: the training curve (validation metrics and losses per epoch) and the reliability diagram."""

from __future__ import annotations

from pathlib import Path

from ddcf.io import atomic_path
from ddcf.predictor.metrics import ECE_BINS, reliability_bins


def plot_training_curve(history: list[dict], best_epoch: int, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    a1.plot(ep, [h["val_accuracy"] for h in history], label="val accuracy")
    a1.plot(ep, [h["val_auc"] for h in history], label="val ROC-AUC")
    a1.plot(ep, [h["val_mean_model_auc"] for h in history], label="val mean per-model AUC")
    a1.axvline(best_epoch, color="grey", ls=":", label=f"best epoch {best_epoch}")
    a1.set_xlabel("epoch")
    a1.legend(fontsize=8)
    a2.plot(ep, [h["train_loss"] for h in history], label="train loss (with noise+dropout)")
    a2.plot(ep, [h["val_loss"] for h in history], label="val log loss")
    a2.set_xlabel("epoch")
    a2.legend(fontsize=8)
    fig.suptitle("Correctness predictor training")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def plot_reliability(curves: dict[str, tuple], path: Path, n_bins: int = ECE_BINS,
                     title: str = "Reliability of P(correct)") -> Path:
    """Reliability diagram: observed accuracy against mean predicted P(correct) per bin, one line per method.

    ``curves`` maps a method's name to its ``(y, p)``.  The bins are those of the
    ECE (``metrics.reliability_bins``), so the figure and the ECE in its legend
    cannot disagree; empty bins are not drawn.  Below, the number of rows per bin.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.6, 6.4), sharex=True,
                                      gridspec_kw=dict(height_ratios=[3, 1]))
    top.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfectly calibrated")
    width = 1.0 / n_bins / max(len(curves), 1)
    for i, (name, (y, p)) in enumerate(curves.items()):
        rb = reliability_bins(y, p, n_bins)
        seen = rb.count > 0
        line, = top.plot(rb.mean_p[seen], rb.mean_y[seen], marker="o", ms=3.5, lw=1.2,
                         label=f"{name} (ECE {rb.ece():.3f})")
        # Side-by-side bars inside each bin, so several methods stay readable.
        bottom.bar(rb.edges[:-1] + i * width, rb.count, width=width, align="edge", color=line.get_color(),
                   alpha=0.8)
    top.set(xlim=(0, 1), ylim=(0, 1), ylabel="observed fraction correct", title=title)
    top.legend(fontsize=7, loc="upper left")
    bottom.set(xlabel="predicted P(correct)", ylabel="rows per bin")
    bottom.set_yscale("log")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_factor_curve(histories: list[list[dict]], path: Path) -> Path:
    """Training curve of the factor ensemble: each member's train and validation log loss per epoch, with the
    epoch it kept (lowest validation loss) marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    for i, hist in enumerate(histories):
        ep = [h["epoch"] for h in hist]
        val = [h["val_loss"] for h in hist]
        line, = ax.plot(ep, val, label=f"member {i}: val log loss")
        ax.plot(ep, [h["train_loss"] for h in hist], ls="--", color=line.get_color(), alpha=0.6)
        best = min(range(len(val)), key=val.__getitem__)
        ax.plot([ep[best]], [val[best]], "o", color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel("log loss (dashed: train, with dropout)")
    ax.legend(fontsize=7)
    ax.set_title("Correctness predictor (factor ensemble) training; dots: kept epochs")
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
