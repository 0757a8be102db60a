"""Stage 4's training entry point: one architecture's training (``ddcf.predictor.paper.train`` or
``ddcf.predictor.factor.train``) on the split, with the thread count and device set once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ddcf.artifacts.matrix import FIX as SPLIT_FIX
from ddcf.errors import DDCFError
from ddcf.predictor.config import PredictorConfig, resolve_threads
from ddcf.predictor.data import TrainingData
from ddcf.predictor.factor.model import FactorPredictor
from ddcf.predictor.factor.train import train_factor
from ddcf.predictor.paper.model import CorrectnessPredictor
from ddcf.predictor.paper.train import train_paper
from ddcf.runtime import resolve_device


@dataclass
class TrainResult:
    model: CorrectnessPredictor | FactorPredictor  # holds the best epoch's weights, in eval mode
    history: list[dict]  # paper arch: one row per epoch; factor arch: member 0's epochs
    best_epoch: int
    seconds: float
    threads: int
    device: str
    noise_prefetch: bool = False
    arch: str = "paper"
    histories: list[list[dict]] | None = None  # factor arch: every member's epochs
    best_epochs: list[int] | None = None  # factor arch: every member's best epoch


def check_trainable(data: TrainingData) -> None:
    if len(data.train) == 0 or len(data.val) == 0:
        raise DDCFError("The training or validation split has no rows.", SPLIT_FIX)
    labels = np.unique(data.train.correct)
    if len(labels) < 2:
        word = "correct" if labels[0] == 1 else "wrong"
        raise DDCFError(
            f"Every one of the {len(data.train):,} training answers is {word}: a predictor trained on one class "
            "learns only that class, and its scores cannot rank questions by difficulty (its AUCs are undefined).",
            "add verdicts with both correct and wrong answers (more models or harder questions), then rerun "
            "create_training_data.py and train_correctness_predictor.py.",
        )


def train_predictor(data: TrainingData, config: PredictorConfig) -> TrainResult:
    """Train ``config.arch`` on ``data.train``, choosing epochs on ``data.val`` (no calibration here)."""
    config.validate()
    check_trainable(data)
    device = resolve_device(config.device)
    threads = resolve_threads(config.threads)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        if config.arch == "paper":
            run = train_paper(data, config, device, threads)
            return TrainResult(model=run.model, history=run.history, best_epoch=run.best_epoch, seconds=run.seconds,
                               threads=threads, device=device, noise_prefetch=run.noise_prefetch, arch="paper")
        model, histories, best_epochs, seconds = train_factor(data, config, device)
    finally:
        torch.set_num_threads(old_threads)
    return TrainResult(model=model, history=histories[0], best_epoch=int(max(best_epochs)), seconds=seconds,
                       threads=threads, device=device, arch="factor", histories=histories,
                       best_epochs=best_epochs)
