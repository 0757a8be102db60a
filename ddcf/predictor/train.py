"""Stage 4: train the correctness predictor on the train/val split and evaluate it.

Speed matters here (the reference implementation took minutes on 2 cores for
30 epochs): every pair lives in three tensors (model id, question row, label),
an epoch is one random permutation sliced into batches, and each batch gathers
its question-embedding rows from one dense matrix.  No per-item
Dataset/DataLoader, no Python work per pair.  On CPU (``--step auto``/``fused``) a
step is the hand-derived forward/backward of ``ddcf.predictor.fastpath`` (same
gradients as autograd, far fewer passes over the batch), and the next batch's
noise, dropout masks and rows are made on a spare core (``StepInputs``).
``--step autograd`` keeps the plain ``nn.Module`` step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ddcf import __version__
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import align_embeddings, atomic_path, hash_ids, load_embeddings, read_table, write_json
from ddcf.layout import Layout
from ddcf.predictor import baselines
from ddcf.predictor.config import TrainConfig, hidden_width, resolve_device, resolve_threads
from ddcf.predictor.fastpath import StepInputs, fused_step_grads, one_ahead
from ddcf.predictor.metrics import evaluate, format_table
from ddcf.predictor.model import CorrectnessPredictor
from ddcf.predictor.store import save_predictor

SPLIT_COLUMNS = ("model_id", "model", "question_id", "correct")
SPLIT_FIX = "rerun create_training_data.py to rebuild the correctness matrix and its split."
CURVE_NAME = "training_curve.png"


# --------------------------------------------------------------------------- inputs
@dataclass
class Pairs:
    """One split as flat arrays; ``q_row`` indexes ``TrainingData.embeddings``."""

    model_id: np.ndarray  # int64
    q_row: np.ndarray  # int64
    correct: np.ndarray  # int64 0/1
    dataset: np.ndarray  # str

    def __len__(self) -> int:
        return len(self.model_id)


@dataclass
class TrainingData:
    models: list[str]
    question_ids: list[str]
    embeddings: np.ndarray  # (n_questions, d) float32, rows for question_ids
    train: Pairs
    val: Pairs
    embedding_info: dict
    split_sha256: str
    stats: dict = field(default_factory=dict)


def _read_model_order(layout: Layout) -> list[str]:
    fix = "write DDCF_data/model_order.csv with columns model_id (0..m-1) and model; create_training_data.py does."
    mo = read_table(layout.model_order, "model order", ["model_id", "model"], fix)
    ids = pd.to_numeric(mo["model_id"], errors="coerce")
    if ids.isna().any() or (ids != ids.round()).any():
        raise DDCFError(f"The model order file {layout.model_order} has non-integer model_id values.", fix)
    ids = ids.astype(np.int64)
    if sorted(ids.tolist()) != list(range(len(mo))):
        raise DDCFError(
            f"The model order file {layout.model_order} must number its {len(mo)} models 0..{len(mo) - 1} "
            f"exactly once; it has model_id values {sorted(set(ids.tolist()))[:10]}...",
            fix,
        )
    names = mo.assign(model_id=ids).sort_values("model_id")["model"].astype(str).tolist()
    if len(set(names)) != len(names):
        raise DDCFError(f"The model order file {layout.model_order} lists a model twice.", fix)
    return names


def _read_split(path: Path, what: str, models: list[str], model_order_path: Path) -> pd.DataFrame:
    df = read_table(path, what, SPLIT_COLUMNS, SPLIT_FIX)
    mid = pd.to_numeric(df["model_id"], errors="coerce")
    if mid.isna().any() or (mid != mid.round()).any():
        raise DDCFError(f"The {what} file {path} has missing or non-integer model_id values.", SPLIT_FIX)
    mid = mid.astype(np.int64)
    bad = (mid < 0) | (mid >= len(models))
    if bad.any():
        raise InputMismatchError(
            f"The {what} file {path} has model_id {int(mid[bad].iloc[0])} but {model_order_path} lists only "
            f"{len(models)} models (ids 0..{len(models) - 1}).",
            SPLIT_FIX,
        )
    expected = np.asarray(models, dtype=object)[mid.to_numpy()]
    wrong = expected != df["model"].astype(str).to_numpy()
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise InputMismatchError(
            f"The {what} file {path} and {model_order_path} disagree: model_id {int(mid.iloc[i])} is "
            f"'{df['model'].iloc[i]}' in the split but '{expected[i]}' in the model order.",
            SPLIT_FIX,
        )
    correct = pd.to_numeric(df["correct"], errors="coerce")
    if correct.isna().any() or not correct.isin([0, 1]).all():
        raise DDCFError(f"The {what} file {path} has 'correct' values other than 0/1 (or missing ones).", SPLIT_FIX)
    out = pd.DataFrame(
        {
            "model_id": mid.to_numpy(),
            "model": df["model"].astype(str).to_numpy(),
            "question_id": df["question_id"].astype(str).to_numpy(),
            "correct": correct.astype(np.int64).to_numpy(),
            "dataset": df["dataset"].astype(str).to_numpy() if "dataset" in df.columns else "all",
        }
    )
    return out


def split_sha256(train: pd.DataFrame, val: pd.DataFrame) -> str:
    """Content hash of both splits (row order included): which pairs, which labels, which side."""
    rows = (
        f"{side}\t{m}\t{q}\t{c}"
        for side, df in (("train", train), ("val", val))
        for m, q, c in zip(df["model"], df["question_id"], df["correct"])
    )
    return hash_ids(rows)


def load_training_data(layout: Layout) -> TrainingData:
    """Read model order, both splits and the seed embeddings; check they belong together."""
    models = _read_model_order(layout)
    train = _read_split(layout.train_split, "training split", models, layout.model_order)
    val = _read_split(layout.val_split, "validation split", models, layout.model_order)
    arr, emb_ids, manifest = load_embeddings(layout.seed_embeddings, "seed embeddings")
    # One embedding row per distinct question of either split, joined by id.
    qids = pd.unique(np.concatenate([train["question_id"].to_numpy(), val["question_id"].to_numpy()]))
    emb = align_embeddings(arr, emb_ids, list(qids), "seed embeddings", layout.seed_embeddings)
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    row = pd.Index(qids)

    def pairs(df: pd.DataFrame) -> Pairs:
        # np.array copies: writable arrays (torch.from_numpy warns on read-only pandas views).
        return Pairs(
            model_id=np.array(df["model_id"], dtype=np.int64),
            q_row=row.get_indexer(df["question_id"]).astype(np.int64),
            correct=np.array(df["correct"], dtype=np.int64),
            dataset=np.array(df["dataset"], dtype=str),
        )

    tr_q, va_q = set(train["question_id"]), set(val["question_id"])
    stats = dict(
        n_train=len(train),
        n_val=len(val),
        n_train_questions=len(tr_q),
        n_val_questions=len(va_q),
        val_questions_also_in_train=len(tr_q & va_q),
        train_accuracy=float(train["correct"].mean()),
        val_accuracy=float(val["correct"].mean()),
        models_without_train_rows=sorted(set(range(len(models))) - set(train["model_id"].tolist())),
    )
    info = dict(
        path=str(layout.seed_embeddings),
        embedding_model=manifest.get("embedding_model"),
        dim=int(arr.shape[1]),
        normalized=manifest.get("normalized"),
        question_ids_sha256=manifest.get("question_ids_sha256"),
    )
    return TrainingData(
        models=models,
        question_ids=[str(q) for q in qids],
        embeddings=emb,
        train=pairs(train),
        val=pairs(val),
        embedding_info=info,
        split_sha256=split_sha256(train, val),
        stats=stats,
    )


# --------------------------------------------------------------------------- the loop
def cosine_with_warmup(total_steps: int, warmup_ratio: float) -> Callable[[int], float]:
    """LR multiplier: linear warmup over ceil(ratio*total) steps, then cosine decay to 0."""
    warmup = math.ceil(warmup_ratio * total_steps) if warmup_ratio > 0 else 0

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def make_optimizer(model: torch.nn.Module, config: TrainConfig, total_steps: int):
    """Adam (L2 weight decay, as in the paper) + warmup/cosine schedule stepped once per batch."""
    kwargs = dict(lr=config.lr, weight_decay=config.weight_decay)
    try:
        # The fused kernel updates all parameters in one call: ~1/3 less per-step overhead on CPU.
        optimizer = torch.optim.Adam(model.parameters(), fused=True, **kwargs)
    except (RuntimeError, TypeError):  # pragma: no cover - device/dtype without a fused Adam
        optimizer = torch.optim.Adam(model.parameters(), **kwargs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_with_warmup(total_steps, config.warmup_ratio))
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


def use_noise_prefetch(device: str, threads: int, alpha: float, mode: str = "auto", step: str = "autograd") -> bool:
    """auto: prefetch on CPU when a core is left over by the intra-op threads (GPUs draw noise on device).

    The fused step's worker also gathers the batch and draws the dropout masks, so it
    is worth a thread even without noise; the autograd step's worker only draws noise.
    """
    from ddcf.predictor.config import usable_cores

    if mode == "off" or device != "cpu" or (alpha <= 0 and step != "fused"):
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
        logits = model(model_ids[idx], emb[q_rows[idx]], batch_noise)
        loss = F.cross_entropy(logits, labels[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.detach() * len(idx)  # no .item() per step: keeps GPUs asynchronous
    return float(total) / stop


def train_epoch_fused(
    model: CorrectnessPredictor,
    optimizer: torch.optim.Optimizer,
    scheduler,
    inputs: StepInputs,
    batch_size: int,
    generator: torch.Generator,
    max_steps: int | None = None,
) -> float:
    """``train_epoch`` with the fused step (ddcf.predictor.fastpath): same order, loss and updates.

    ``inputs`` makes each batch (noise, dropout masks, gathered rows), on a spare core when it prefetches.
    """
    model.train()
    labels = inputs.labels
    n = len(labels)
    perm = torch.randperm(n, generator=generator).to(labels.device)
    total = torch.zeros((), device=labels.device)
    stop = n if max_steps is None else min(n, max_steps * batch_size)
    for batch in inputs.batches(perm, batch_size, stop):
        loss = fused_step_grads(model, batch)  # sets every .grad: no zero_grad needed
        optimizer.step()
        scheduler.step()
        total += loss * len(batch)  # no .item() per step: keeps GPUs asynchronous
    return float(total) / stop


@torch.no_grad()
def predict(
    model: CorrectnessPredictor, emb: torch.Tensor, model_ids: torch.Tensor, q_rows: torch.Tensor, batch_size: int
) -> np.ndarray:
    """P(correct) for many pairs, in large batches, eval mode."""
    model.eval()
    out = [
        model.predict_proba(model_ids[s : s + batch_size], emb[q_rows[s : s + batch_size]])
        for s in range(0, len(model_ids), batch_size)
    ]
    return torch.cat(out).double().cpu().numpy() if out else np.zeros(0)


@dataclass
class TrainResult:
    model: CorrectnessPredictor  # holds the best epoch's weights, in eval mode
    history: list[dict]
    best_epoch: int
    seconds: float
    threads: int
    device: str
    noise_prefetch: bool = False
    step: str = "autograd"  # the step kind actually used (config.step resolved)


def train_predictor(
    data: TrainingData, config: TrainConfig, progress: bool = True, log: Callable[[str], None] | None = None
) -> TrainResult:
    """Train on ``data.train``; after each epoch evaluate ``data.val``; keep the best epoch by val accuracy."""
    from tqdm.auto import tqdm

    config.validate()
    if len(data.train) == 0 or len(data.val) == 0:
        raise DDCFError("The training or validation split has no rows.", SPLIT_FIX)
    device = resolve_device(config.device)
    threads = resolve_threads(config.threads)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    noise: NoisePrefetcher | None = None
    inputs: StepInputs | None = None
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
        step = config.resolved_step(device)
        prefetch = use_noise_prefetch(device, threads, config.alpha, config.noise_prefetch, step)
        if step == "fused":
            inputs = StepInputs(emb, *t["train"], model, config.seed + 1, noise=config.noise,
                                batch_size=config.batch_size, prefetch=prefetch)
        elif prefetch:
            noise = NoisePrefetcher(dim, config.alpha, config.seed + 1)
        history: list[dict] = []
        val_y, val_m = data.val.correct, data.val.model_id
        t0 = time.perf_counter()
        bar = tqdm(range(1, config.epochs + 1), desc="training predictor", unit="epoch", disable=not progress)
        for epoch in bar:
            te = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            if inputs is not None:
                train_loss = train_epoch_fused(model, optimizer, scheduler, inputs, config.batch_size, gen)
            else:
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
            bar.set_postfix(loss=f"{train_loss:.4f}", val_acc=f"{m['accuracy']:.4f}", val_auc=f"{m['auc']:.4f}")
            if log:
                log(f"epoch {epoch:3d}  loss {train_loss:.4f}  val acc {m['accuracy']:.4f}  auc {m['auc']:.4f}")
        seconds = time.perf_counter() - t0
        best.restore(model)
        model.eval()
        return TrainResult(model=model, history=history, best_epoch=int(best.epoch or config.epochs),
                           seconds=seconds, threads=threads, device=device, noise_prefetch=prefetch,
                           step=step)
    finally:
        if noise is not None:
            noise.close()
        if inputs is not None:
            inputs.close()
        torch.set_num_threads(old_threads)


# --------------------------------------------------------------------------- evaluation + baselines
def evaluate_all(data: TrainingData, result: TrainResult, config: TrainConfig) -> tuple[dict, dict]:
    """Final validation metrics of the predictor and the three baselines, plus their predictions."""
    dev = result.device
    emb = torch.from_numpy(data.embeddings).to(dev)
    p_pred = predict(
        result.model, emb, torch.from_numpy(data.val.model_id).to(dev), torch.from_numpy(data.val.q_row).to(dev),
        config.eval_batch_size,
    )
    m = len(data.models)
    tr, va = data.train, data.val
    t_knn = time.perf_counter()
    # kNN works on distinct question rows: training questions vs validation questions.
    tr_rows, tr_q = np.unique(tr.q_row, return_inverse=True)
    va_rows, va_q = np.unique(va.q_row, return_inverse=True)
    p_knn = baselines.knn(
        data.embeddings[tr_rows], tr_q, tr.model_id, tr.correct, data.embeddings[va_rows], va_q, va.model_id, m,
        k=config.knn_k,
    )
    t_knn = time.perf_counter() - t_knn
    p_ds, used_ds = baselines.dataset_base_rate(tr.model_id, tr.dataset, tr.correct, va.model_id, va.dataset, m)
    preds = {
        "predictor (paper)": p_pred,
        "base rate per model": baselines.base_rate(tr.model_id, tr.correct, va.model_id, m),
        "base rate per model+dataset" if used_ds else "base rate per model (one dataset)": p_ds,
        f"kNN (k={config.knn_k})": p_knn,
    }
    results = {name: evaluate(va.correct, p, va.model_id) for name, p in preds.items()}
    return results, dict(knn_seconds=t_knn, dataset_baseline_used_datasets=used_ds)


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


@dataclass
class TrainReport:
    results: dict[str, dict[str, float]]
    best_epoch: int
    seconds: float
    threads: int
    device: str
    stats: dict
    files: list[Path]

    def table(self) -> str:
        return format_table(self.results)


def run_training(
    layout: Layout, config: TrainConfig, progress: bool = True, plot: bool = True,
    log: Callable[[str], None] | None = None,
) -> TrainReport:
    """The whole stage: load, train, evaluate against baselines, write weights/config/metrics/curve."""
    config.validate()
    data = load_training_data(layout)
    result = train_predictor(data, config, progress=progress, log=log)
    results, extra = evaluate_all(data, result, config)
    out = layout.predictor_dir
    training = config.to_dict()
    training.update(resolved_device=result.device, resolved_threads=result.threads,
                    resolved_noise_prefetch=result.noise_prefetch, resolved_step=result.step)
    cfg = save_predictor(
        result.model,
        out,
        dict(
            created_by=f"ddcf {__version__} train_correctness_predictor.py",
            models=data.models,
            training=training,
            embedding=data.embedding_info,
            split=dict(sha256=data.split_sha256, train=str(layout.train_split), val=str(layout.val_split),
                       **{k: data.stats[k] for k in ("n_train", "n_val", "n_train_questions", "n_val_questions")}),
            best_epoch=result.best_epoch,
            best_val_accuracy=results["predictor (paper)"]["accuracy"],
        ),
    )
    metrics = dict(
        best_epoch=result.best_epoch,
        train_seconds=result.seconds,
        threads=result.threads,
        device=result.device,
        noise_prefetch=result.noise_prefetch,
        epochs=result.history,
        final=results,
        data=data.stats,
        weights_sha256=cfg["weights_sha256"],
        **extra,
    )
    files = [out / "model.safetensors", out / "config.json", write_json(metrics, layout.predictor_metrics)]
    if plot:
        files.append(plot_training_curve(result.history, result.best_epoch, out / CURVE_NAME))
    return TrainReport(results=results, best_epoch=result.best_epoch, seconds=result.seconds,
                       threads=result.threads, device=result.device, stats=data.stats, files=files)
