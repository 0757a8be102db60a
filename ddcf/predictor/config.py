"""Options of the correctness predictor (stage 4), as one dataclass.

Every field carries its ``help`` text in its metadata, so the command line is
generated from the dataclass and cannot drift from it.  Defaults are the paper's
settings (App. A.1): Adam with weight decay 1e-5, cosine schedule with 3% linear
warmup, lr 1e-3, 30 epochs, batch 1028, embedding noise alpha 1e-2, residual MLP
blocks of hidden width 0.1*d with dropout 0.8.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from ddcf.errors import DDCFError


def _opt(default: Any, help: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TrainConfig:
    epochs: int = _opt(30, "Training epochs (paper: 30).", min=1)
    batch_size: int = _opt(1028, "Pairs per optimisation step (paper: 1028).", min=1)
    lr: float = _opt(1e-3, "Peak learning rate of Adam (paper: 1e-3).", min_excl=0.0)
    weight_decay: float = _opt(1e-5, "Adam weight decay (L2 added to the gradient; paper: 1e-5).", min=0.0)
    warmup_ratio: float = _opt(
        0.03, "Fraction of all steps spent in linear warmup before the cosine decay (paper: 0.03).", min=0.0, max=1.0
    )
    alpha: float = _opt(
        1e-2,
        "Std of the Gaussian noise added to model and question embeddings during training only (paper: 1e-2).",
        min=0.0,
    )
    dropout: float = _opt(0.8, "Dropout rate inside the residual MLP blocks (paper: 0.8).", min=0.0, max_excl=1.0)
    hidden_ratio: float = _opt(
        0.1, "Hidden width of the residual MLP blocks as a fraction of the embedding dim (paper: 0.1).", min_excl=0.0
    )
    seed: int = _opt(42, "Random seed for initialisation, shuffling, dropout and noise.")
    knn_k: int = _opt(20, "Neighbours of the kNN baseline (cosine over question embeddings).", min=1)
    eval_batch_size: int = _opt(65536, "Pairs per forward pass when evaluating (no gradients).", min=1)
    threads: int = _opt(0, "CPU threads for torch (0: auto = 1 on <= 2 cores, else half the cores, at most 8).", min=0)
    device: str = _opt("auto", "Where to train: auto (CUDA when available), cpu, or cuda[:N].")
    noise_prefetch: str = _opt(
        "auto",
        "Prepare the next batch (its training noise, dropout masks and embedding rows) on a spare CPU core: "
        "auto (on CPU when a core is left over by --threads), on, or off. Same result either way.",
    )
    step: str = _opt(
        "auto",
        "How a training step computes its gradients: fused (hand-derived forward/backward that skips work "
        "autograd cannot know is unneeded; same loss and gradients to float32 rounding, ~1.7x less CPU per "
        "step), autograd (the plain nn.Module and loss.backward()), or auto (fused on CPU, autograd on CUDA, "
        "where the fused path has not been tested).",
    )
    noise: str = _opt(
        "iid",
        "Source of the Gaussian embedding noise: iid (fresh draws every step, as in the paper) or table "
        "(one pre-drawn table of 2^24 N(0, alpha^2) floats sliced at a random offset each step, as in "
        "evolution-strategies noise tables: cheaper on CPU, an approximation; needs --step fused).",
    )

    def validate(self) -> "TrainConfig":
        """Raise a DDCFError naming the option when a value is out of range."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            flag = f"--{f.name}"
            if "min" in meta and value < meta["min"]:
                raise DDCFError(f"{flag} is {value}, below its minimum {meta['min']}.",
                                f"pass {flag} >= {meta['min']}.")
            if "min_excl" in meta and value <= meta["min_excl"]:
                raise DDCFError(f"{flag} is {value}; it must be > {meta['min_excl']}.", f"pass a positive {flag}.")
            if "max" in meta and value > meta["max"]:
                raise DDCFError(f"{flag} is {value}, above its maximum {meta['max']}.",
                                f"pass {flag} <= {meta['max']}.")
            if "max_excl" in meta and value >= meta["max_excl"]:
                raise DDCFError(f"{flag} is {value}; it must be < {meta['max_excl']}.",
                                f"pass {flag} < {meta['max_excl']}.")
        check_device(self.device)
        if self.noise_prefetch not in ("auto", "on", "off"):
            raise DDCFError(f"--noise_prefetch is '{self.noise_prefetch}'.", "pass auto, on or off.")
        if self.step not in ("auto", "fused", "autograd"):
            raise DDCFError(f"--step is '{self.step}'.", "pass auto, fused or autograd.")
        if self.noise not in ("iid", "table"):
            raise DDCFError(f"--noise is '{self.noise}'.", "pass iid or table.")
        if self.noise == "table" and self.step == "autograd":
            raise DDCFError("--noise table works only with the fused training step (--step fused).",
                            "pass --step fused, or --noise iid with --step autograd.")
        return self

    def resolved_step(self, device: str) -> str:
        """The step kind actually used on ``device`` (resolves auto)."""
        if self.step != "auto":
            return self.step
        return "fused" if device == "cpu" or self.noise == "table" else "autograd"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def hidden_width(dim: int, hidden_ratio: float) -> int:
    """Hidden width of a residual block: ``int(ratio * dim)``, at least 1 (tiny test dims)."""
    return max(1, int(hidden_ratio * dim))


def add_config_arguments(parser: argparse.ArgumentParser, cls: type = TrainConfig) -> None:
    """Add one ``--<field>`` option per dataclass field, with its help text and default."""
    for f in dataclasses.fields(cls):
        kind = {"int": int, "float": float, "str": str}[f.type if isinstance(f.type, str) else f.type.__name__]
        parser.add_argument(
            f"--{f.name}", type=kind, default=f.default, help=f"{f.metadata['help']} (default: {f.default})"
        )


def config_from_args(args: argparse.Namespace, cls: type = TrainConfig) -> TrainConfig:
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)}).validate()


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # respects taskset/cgroup affinity
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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


def check_device(device: str) -> str:
    dev = device.strip().lower()
    if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
        raise DDCFError(f"--device is '{device}'.", "pass auto, cpu, cuda or cuda:N.")
    return dev


def resolve_device(device: str) -> str:
    import torch

    dev = check_device(device)
    if dev == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise DDCFError(f"--device {device} was asked for but torch sees no CUDA GPU.", "pass --device cpu (or auto).")
    return dev
