"""Training of the paper's predictor (``--arch paper``): optimizer and schedule, one epoch, the best checkpoint.

Speed matters here (the reference implementation took minutes on 2 cores for
30 epochs): every pair lives in three tensors (model id, question row, label),
an epoch is one random permutation sliced into batches, and each batch gathers
its question-embedding rows from one dense matrix.  No per-item
Dataset/DataLoader, no Python work per pair.  A step is the plain ``nn.Module``
forward and ``loss.backward()``; on CPU the next batch's embedding noise is drawn
on a spare core (``NoisePrefetcher``).  (ddcf once had a hand-derived
forward/backward here, ``fastpath.py``; the released block's second dropout and per-pair drop-path
took away most of what it saved, so it was removed: benchmarks/README.md, "Predictor training".)

The order of every random draw (init, permutation, noise, dropout) is part of the
result: the same seed gives bit-identical weights, so keep it when editing.
"""

from __future__ import annotations

import math
import time
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from ddcf.predictor.config import SCHEDULES, PredictorConfig, hidden_width
from ddcf.predictor.data import TrainingData
from ddcf.predictor.inference import predict
from ddcf.predictor.metrics import evaluate
from ddcf.predictor.paper.model import CorrectnessPredictor
from ddcf.runtime import progress, usable_cores


class PaperRun(NamedTuple):
    model: CorrectnessPredictor  # the best epoch's weights, in eval mode
    history: list[dict]  # one row per epoch
    best_epoch: int
    seconds: float
    noise_prefetch: bool


def cosine_with_warmup(total_steps: int, warmup_ratio: float, kind: str = "released") -> Callable[[int], float]:
    """LR multiplier of optimisation step ``step`` (0-based): linear warmup, then half-cosine decay to 0.

    released: transformers' ``get_cosine_schedule_with_warmup`` as the released code calls it,
    ``int(ratio * total)`` warmup steps with multiplier ``step / warmup`` (step 0 runs at lr 0; Adam
    still records its gradient).  shifted: ddcf's earlier schedule, ``ceil(ratio * total)`` warmup
    steps with multiplier ``(step + 1) / warmup``, so no step is spent at lr 0.
    """
    if kind not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, not {kind!r}")
    if kind == "released":
        warmup = int(warmup_ratio * total_steps)
        first = 0
    else:
        warmup = math.ceil(warmup_ratio * total_steps) if warmup_ratio > 0 else 0
        first = 1

    def factor(step: int) -> float:
        if step < warmup:
            return (step + first) / max(1, warmup)
        done = (step - warmup) / max(1, total_steps - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * min(1.0, done))))

    return factor


def make_optimizer(model: torch.nn.Module, config: PredictorConfig, total_steps: int):
    """Adam (L2 weight decay, as in the paper) + warmup/cosine schedule stepped once per batch."""
    kwargs = dict(lr=config.lr, weight_decay=config.weight_decay)
    try:
        # The fused kernel updates all parameters in one call: ~1/3 less per-step overhead on CPU.
        optimizer = torch.optim.Adam(model.parameters(), fused=True, **kwargs)
    except (RuntimeError, TypeError):  # pragma: no cover - device/dtype without a fused Adam
        optimizer = torch.optim.Adam(model.parameters(), **kwargs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_with_warmup(total_steps, config.warmup_ratio,
                                                                                       config.schedule))
    return optimizer, scheduler


class BestCheckpoint:
    """Keep a copy of the weights of the epoch with the highest score (first one on ties)."""

    def __init__(self) -> None:
        self.score = -math.inf
        self.epoch: int | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def update(self, epoch: int, score: float, model: torch.nn.Module) -> bool:
        if not score > self.score:  # NaN never wins
            return False
        self.score, self.epoch = score, epoch
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return True

    def restore(self, model: torch.nn.Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)


def one_ahead(pool, fn, items):
    """Yield ``fn(item)`` for each item, computing the next one on ``pool`` while the caller works."""
    pending = pool.submit(fn, items[0]) if items else None
    for i in range(len(items)):
        current = pending.result()
        if i + 1 < len(items):
            pending = pool.submit(fn, items[i + 1])
        yield current


class NoisePrefetcher:
    """Draws the embedding noise of the next batch on a spare CPU core while this batch trains.

    On CPU the Gaussian noise of App. A.1 (two batch x d samples per step) is ~40% of a
    training step, and torch's normal_ is serial.  The training loop uses one intra-op
    thread (see ``resolve_threads``), so a second core is idle: one worker thread fills
    the noise for step i+1 during step i (torch releases the GIL inside ops).  Same
    distribution, fresh i.i.d. samples every step, deterministic for a seed (one worker,
    one generator, consumed in order).
    """

    def __init__(self, dim: int, alpha: float, seed: int):
        from concurrent.futures import ThreadPoolExecutor

        self.dim, self.alpha = dim, alpha
        self.gen = torch.Generator().manual_seed(seed)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddcf-noise")

    def _draw(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        noise = torch.empty(2, n, self.dim).normal_(0.0, self.alpha, generator=self.gen)
        return noise[0], noise[1]

    def batches(self, sizes: list[int]):
        """Yield (model noise, question noise) per batch size, one batch ahead."""
        yield from one_ahead(self.pool, self._draw, sizes)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def use_noise_prefetch(device: str, threads: int, alpha: float, mode: str = "auto") -> bool:
    """auto: prefetch on CPU when a core is left over by the intra-op threads (GPUs draw noise on device)."""
    if mode == "off" or device != "cpu" or alpha <= 0:
        return False
    return mode == "on" or usable_cores() > threads


def train_epoch(
    model: CorrectnessPredictor,
    optimizer: torch.optim.Optimizer,
    scheduler,
    emb: torch.Tensor,
    model_ids: torch.Tensor,
    q_rows: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    max_steps: int | None = None,
    noise: NoisePrefetcher | None = None,
) -> float:
    """One pass over all pairs in a fresh random order; returns the mean training loss.

    ``noise`` supplies pre-drawn embedding noise (CPU); without it the model draws its own.
    ``max_steps`` stops early (benchmarks only); the mean is then over the pairs seen.
    """
    model.train()
    n = len(labels)
    perm = torch.randperm(n, generator=generator).to(labels.device)
    total = torch.zeros((), device=labels.device)
    stop = n if max_steps is None else min(n, max_steps * batch_size)
    starts = range(0, stop, batch_size)
    sizes = [min(batch_size, stop - s) for s in starts]
    noise_iter = noise.batches(sizes) if noise is not None and model.alpha > 0 else None
    for start in starts:
        idx = perm[start : start + batch_size]
        batch_noise = next(noise_iter) if noise_iter is not None else None
        loss = train_step(model, optimizer, scheduler, model_ids[idx], emb[q_rows[idx]], labels[idx], batch_noise)
        total += loss * len(idx)  # no .item() per step: keeps GPUs asynchronous
    return float(total) / stop


def train_step(model: CorrectnessPredictor, optimizer, scheduler, model_ids: torch.Tensor, x: torch.Tensor,
               labels: torch.Tensor, noise: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """One optimisation step of the released loop body (mean cross-entropy, Adam, schedule); the loss, detached.

    Without ``noise`` every random draw comes from the global RNG in the released code's order, so the
    same RNG state gives the same step (``tests/predictor/test_predictor_reference.py``)."""
    loss = F.cross_entropy(model(model_ids, x, noise), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step()
    return loss.detach()


def train_paper(data: TrainingData, config: PredictorConfig, device: str, threads: int) -> PaperRun:
    """The paper's recipe: train on ``data.train``; after each epoch evaluate ``data.val``; keep the best epoch
    by val accuracy (App. A.1).  The caller sets torch's thread count (``threads``, used to decide the noise
    prefetch) and restores it."""
    noise: NoisePrefetcher | None = None
    try:
        torch.manual_seed(config.seed)
        gen = torch.Generator().manual_seed(config.seed)
        dim = data.embeddings.shape[1]
        model = CorrectnessPredictor(
            num_models=len(data.models),
            dim=dim,
            hidden_dim=hidden_width(dim, config.hidden_ratio),
            dropout=config.dropout,
            alpha=config.alpha,
            out_dropout=config.out_dropout,
            drop_path=config.drop_path,
        ).to(device)
        emb = torch.from_numpy(data.embeddings).to(device)
        t = {
            name: (torch.from_numpy(p.model_id).to(device), torch.from_numpy(p.q_row).to(device),
                   torch.from_numpy(p.correct).to(device))
            for name, p in (("train", data.train), ("val", data.val))
        }
        steps_per_epoch = math.ceil(len(data.train) / config.batch_size)
        optimizer, scheduler = make_optimizer(model, config, steps_per_epoch * config.epochs)
        best = BestCheckpoint()
        prefetch = use_noise_prefetch(device, threads, config.alpha, config.noise_prefetch)
        if prefetch:
            noise = NoisePrefetcher(dim, config.alpha, config.seed + 1)
        history: list[dict] = []
        val_y, val_m = data.val.correct, data.val.model_id
        t0 = time.perf_counter()
        bar = progress(range(1, config.epochs + 1), desc="training predictor", unit="epoch",
                       enabled=config.progress)
        for epoch in bar:
            te = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            train_loss = train_epoch(model, optimizer, scheduler, emb, *t["train"], config.batch_size, gen,
                                     noise=noise)
            p_val = predict(model, emb, t["val"][0], t["val"][1], config.eval_batch_size)
            m = evaluate(val_y, p_val, val_m)
            improved = best.update(epoch, m["accuracy"], model)
            row = dict(
                epoch=epoch, lr_start=lr, train_loss=train_loss, val_loss=m["log_loss"], val_accuracy=m["accuracy"],
                val_auc=m["auc"], val_mean_model_auc=m["mean_model_auc"], val_ece=m["ece"],
                seconds=time.perf_counter() - te, best=improved,
            )
            history.append(row)
            bar.set_postfix_str(f"loss={train_loss:.4f}, val_acc={m['accuracy']:.4f}, val_auc={m['auc']:.4f}")
        seconds = time.perf_counter() - t0
        best.restore(model)
        model.eval()
        return PaperRun(model, history, int(best.epoch or config.epochs), seconds, prefetch)
    finally:
        if noise is not None:
            noise.close()
