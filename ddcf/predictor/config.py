"""Options of the correctness predictor (stage 4), as one dataclass.

Every field carries its ``help`` text, range and choices, so the command line
(``train_correctness_predictor.py``, ``ddcf predictor``) and ``--config`` are derived
from it and cannot drift from it.  Defaults are the paper's settings (App. A.1):
Adam with weight decay 1e-5, cosine schedule with 3% linear warmup, lr 1e-3,
30 epochs, batch 1028, embedding noise alpha 1e-2, residual MLP blocks of hidden
width 0.1*d with dropout 0.8.

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError
from ddcf.runtime import check_device, usable_cores

MAX_BATCH = 1 << 24  # pairs per step/forward pass: far above what any memory holds at useful dims


@dataclass
class PredictorConfig(StageConfig):
    """Train the correctness predictor (stage 4) and compare it with base-rate and kNN baselines.

    It trains on the train split, keeps the epoch with the best validation accuracy and reports it side by
    side with the baselines. Reads DDCF_data/correctness/{train,val}.parquet,
    DDCF_data/model_order.csv and the seed embeddings; writes DDCF_data/predictor/ (model.safetensors,
    config.json, metrics.json, training_curve.png, and predictor.config.yaml: the options of the run)."""

    epochs: int = option(30, "Training epochs (paper: 30).", min=1, max=100_000)
    batch_size: int = option(1028, "Pairs per optimisation step (paper: 1028).", min=1, max=MAX_BATCH)
    lr: float = option(1e-3, "Peak learning rate of Adam (paper: 1e-3).", min_excl=0.0, max=10.0)
    weight_decay: float = option(1e-5, "Adam weight decay (L2 added to the gradient; paper: 1e-5).", min=0.0, max=1.0)
    warmup_ratio: float = option(
        0.03, "Fraction of all steps spent in linear warmup before the cosine decay (paper: 0.03).", min=0.0, max=1.0
    )
    alpha: float = option(
        1e-2,
        "Std of the Gaussian noise added to model and question embeddings during training only (paper: 1e-2).",
        min=0.0,
        max=10.0,
    )
    dropout: float = option(0.8, "Dropout rate inside the residual MLP blocks (paper: 0.8).", min=0.0, max_excl=1.0)
    hidden_ratio: float = option(
        0.1, "Hidden width of the residual MLP blocks as a fraction of the embedding dim (paper: 0.1).", min_excl=0.0,
        max=16.0,
    )
    seed: int = option(42, "Random seed for initialisation, shuffling, dropout and noise.", min=0, max=2**32 - 1)
    knn_k: int = option(20, "Neighbours of the kNN baseline (cosine over question embeddings).", min=1, max=100_000)
    eval_batch_size: int = option(65536, "Pairs per forward pass when evaluating (no gradients).", min=1, max=MAX_BATCH)
    threads: int = option(
        0, "CPU threads for torch (0: auto = 1 on <= 2 cores, else half the cores, at most 8).", min=0, max=1024
    )
    device: str = option("auto", "Where to train: auto (CUDA when available), cpu, or cuda[:N].")
    noise_prefetch: str = option(
        "auto",
        "Prepare the next batch (its training noise, dropout masks and embedding rows) on a spare CPU core: "
        "auto (on CPU when a core is left over by --threads), on, or off. Same result either way.",
        choices=("auto", "on", "off"),
    )
    step: str = option(
        "auto",
        "How a training step computes its gradients: fused (hand-derived forward/backward that skips work "
        "autograd cannot know is unneeded; same loss and gradients to float32 rounding, ~1.7x less CPU per "
        "step), autograd (the plain nn.Module and loss.backward()), or auto (fused on CPU, autograd on CUDA, "
        "where the fused path has not been tested).",
        choices=("auto", "fused", "autograd"),
    )
    noise: str = option(
        "iid",
        "Source of the Gaussian embedding noise: iid (fresh draws every step, as in the paper) or table "
        "(one pre-drawn table of 2^24 N(0, alpha^2) floats sliced at a random offset each step, as in "
        "evolution-strategies noise tables: cheaper on CPU, an approximation; needs --step fused).",
        choices=("iid", "table"),
    )
    no_plot: bool = option(False, "Do not write the training-curve PNG.")

    #: fields that say what is written, not how the predictor is trained: left out of config.json's "training"
    OUTPUT_ONLY = ("no_plot",)

    def check(self) -> None:
        check_device(self.device)
        if self.noise == "table" and self.step == "autograd":
            raise DDCFError("--noise table works only with the fused training step (--step fused).",
                            "pass --step fused, or --noise iid with --step autograd.")

    def resolved_step(self, device: str) -> str:
        """The step kind actually used on ``device`` (resolves auto)."""
        if self.step != "auto":
            return self.step
        return "fused" if device == "cpu" or self.noise == "table" else "autograd"

    def training_options(self) -> dict:
        """The options that define the trained model, as recorded in the predictor's config.json."""
        out = self.to_dict(include_run_only=False)
        for name in self.OUTPUT_ONLY:
            out.pop(name, None)
        return out


def hidden_width(dim: int, hidden_ratio: float) -> int:
    """Hidden width of a residual block: ``int(ratio * dim)``, at least 1 (tiny test dims)."""
    return max(1, int(hidden_ratio * dim))


def resolve_threads(threads: int) -> int:
    """Threads for torch; 0 picks a count for this small model.

    Each op of the predictor touches one batch (1028 x d floats), which is too
    little work to split well: measured on a 2-core machine, 2 intra-op threads
    ran the training loop 3-4x *slower* than 1 (OpenMP barriers and the serial
    RNG of the noise), and worse still when other processes share the cores.
    So: 1 thread on <= 2 cores, otherwise half the cores (at most 8).
    """
    if threads > 0:
        return threads
    cores = usable_cores()
    return 1 if cores <= 2 else min(8, cores // 2)
