"""The training-curve figure of stage 4 (validation metrics and losses per epoch)."""

from __future__ import annotations

from pathlib import Path

from ddcf.io import atomic_path


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
