"""Training throughput of the correctness predictor: ddcf's training loop vs a per-item DataLoader loop.

Both loops train the same model (paper architecture) with the same optimizer,
schedule, batch size and thread count on the same synthetic pairs, in the same process:

* ours (ddcf): all pairs are three tensors; an epoch is one permutation sliced into
  batches; each step is the autograd step of the released block (second dropout and
  drop-path included), with the next batch's noise drawn on a spare core (train_epoch);
  also without that core, and with ddcf's earlier block (no second dropout, no drop-path);
* baseline: a ``torch.utils.data.Dataset`` whose ``__getitem__`` returns one pair
  (model id, embedding row, label), batched by a ``DataLoader`` (shuffle, default collate,
  no workers), and the plain ``nn.Module`` autograd step (noise and dropout drawn inside
  the model).  It runs fewer steps; throughput is pairs per second either way.

Repeats alternate ours and the baseline so that both see the same machine load; the
medians and their ratio are printed.  Default data has the paper's scale: 23 models x
17,500 questions (402,500 pairs), d=384.  ``--dim 2560`` matches Qwen3-Embedding-4B.
``--workdir`` also times 30 epochs (the whole stage's training loop, validation included)
on that work directory's real split, with each variant.

    python benchmarks/bench_predictor_training.py                                 # paper scale, d=384
    python benchmarks/bench_predictor_training.py --questions 2000 --repeats 3    # quick
    python benchmarks/bench_predictor_training.py --workdir demo_run --epochs 30  # + real data
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without `pip install -e .`

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from ddcf.predictor.config import PredictorConfig, hidden_width, resolve_threads
from ddcf.predictor.paper.model import CorrectnessPredictor
from ddcf.predictor.paper.train import (
    NoisePrefetcher,
    make_optimizer,
    train_epoch,
    use_noise_prefetch,
)


def synthetic(models: int, questions: int, dim: int, seed: int):
    """Low-rank logistic correctness over random unit-norm question embeddings (all pairs answered)."""
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((questions, dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    proj = rng.standard_normal((dim, 8)).astype(np.float32) * math.sqrt(dim)
    skill = rng.standard_normal((models, 8)).astype(np.float32)
    logits = skill @ (emb @ proj).T + rng.normal(1.0, 1.0, (models, 1))
    correct = (rng.random((models, questions)) < 1 / (1 + np.exp(-logits))).astype(np.int64)
    mid, qrow = np.meshgrid(np.arange(models), np.arange(questions), indexing="ij")
    return emb, mid.ravel().astype(np.int64), qrow.ravel().astype(np.int64), correct.ravel()


class PairDataset(Dataset):
    """The straightforward way: one (model id, question embedding, label) item per index."""

    def __init__(self, emb, mid, qrow, y):
        self.emb, self.mid, self.qrow, self.y = emb, mid, qrow, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.mid[i], self.emb[self.qrow[i]], self.y[i]


def make(models: int, dim: int, cfg: PredictorConfig, total_steps: int):
    model = CorrectnessPredictor(models, dim, hidden_width(dim, cfg.hidden_ratio), cfg.dropout, cfg.alpha,
                                 cfg.out_dropout, cfg.drop_path)
    opt, sched = make_optimizer(model, cfg, total_steps)
    return model, opt, sched


def run_fast(emb, mid, qrow, y, models, cfg, steps, seed, prefetch: bool) -> float:
    """Pairs/s of ddcf's loop (autograd step, noise drawn on a spare core when ``prefetch``)."""
    torch.manual_seed(seed)
    model, opt, sched = make(models, emb.shape[1], cfg, steps)
    gen = torch.Generator().manual_seed(seed)
    pairs = min(len(y), steps * cfg.batch_size)
    noise_src = NoisePrefetcher(emb.shape[1], cfg.alpha, seed) if prefetch else None
    t = time.perf_counter()
    train_epoch(model, opt, sched, emb, mid, qrow, y, cfg.batch_size, gen, max_steps=steps, noise=noise_src)
    rate = pairs / (time.perf_counter() - t)
    if noise_src is not None:
        noise_src.close()
    return rate


def run_baseline(emb, mid, qrow, y, models, cfg, steps, seed) -> float:
    torch.manual_seed(seed)
    model, opt, sched = make(models, emb.shape[1], cfg, steps)
    loader = DataLoader(PairDataset(emb, mid, qrow, y), batch_size=cfg.batch_size, shuffle=True, num_workers=0)
    model.train()
    pairs = 0
    t = time.perf_counter()
    for step, (m, q, lab) in enumerate(loader):
        if step >= steps:
            break
        loss = F.cross_entropy(model(m, q), lab)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        pairs += len(lab)
    return pairs / (time.perf_counter() - t)


def batching_only(emb, mid, qrow, y, batch_size, steps, seed) -> tuple[float, float]:
    """Pairs/s of producing batches alone (no model): tensor indexing vs the DataLoader."""
    gen = torch.Generator().manual_seed(seed)
    t = time.perf_counter()
    perm = torch.randperm(len(y), generator=gen)
    n_fast = 0
    for start in range(0, min(len(y), steps * batch_size), batch_size):
        idx = perm[start : start + batch_size]
        batch = (mid[idx], emb[qrow[idx]], y[idx])
        n_fast += len(batch[2])
    fast = n_fast / (time.perf_counter() - t)
    loader = DataLoader(PairDataset(emb, mid, qrow, y), batch_size=batch_size, shuffle=True, num_workers=0)
    n_base = 0
    t = time.perf_counter()
    for step, (_, _, lab) in enumerate(loader):
        if step >= steps:
            break
        n_base += len(lab)
    return fast, n_base / (time.perf_counter() - t)


VARIANTS = {  # label: (out_dropout, drop_path, prefetch)
    "ours: released block, noise on a spare core": (0.8, 0.2, True),
    "ours: released block, 1 core": (0.8, 0.2, False),
    "ours: earlier block (--out_dropout 0 --drop_path 0)": (0.0, 0.0, True),
}


def real_data(workdir: str, epochs: int, threads: int) -> None:
    """Time the stage's whole training loop (validation every epoch included) on a work directory."""
    from ddcf.layout import Layout
    from ddcf.predictor.data import load_training_data
    from ddcf.predictor.train import train_predictor

    data = load_training_data(Layout.from_arg(workdir))
    print(f"\nreal data {workdir}: {len(data.train):,} training pairs, {len(data.val):,} validation pairs, "
          f"d={data.embeddings.shape[1]}, {epochs} epochs")
    for label, (out_dropout, drop_path, prefetch) in VARIANTS.items():
        cfg = PredictorConfig(arch="paper", epochs=epochs, threads=threads, out_dropout=out_dropout,
                              drop_path=drop_path, noise_prefetch="auto" if prefetch else "off", no_progress=True)
        r = train_predictor(data, cfg)
        best = r.history[r.best_epoch - 1]
        print(f"  {label:42s} {r.seconds:6.1f} s   best epoch {r.best_epoch:2d}: val acc {best['val_accuracy']:.4f} "
              f"AUC {best['val_auc']:.4f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=int, default=23, help="Number of models (default: 23, the paper's).")
    p.add_argument("--questions", type=int, default=17500, help="Number of seed questions (default: 17,500).")
    p.add_argument("--dim", type=int, default=384, help="Question-embedding dim (384 MiniLM; 2560 Qwen3-Embedding-4B).")
    p.add_argument("--batch_size", type=int, default=1028, help="Pairs per step (default: 1028, the paper's).")
    p.add_argument("--fast_steps", type=int, default=100,
                   help="Steps of each of our loops per repeat (default: 100; 0: one full epoch).")
    p.add_argument("--baseline_steps", type=int, default=30, help="Steps of the DataLoader loop per repeat.")
    p.add_argument("--repeats", type=int, default=3, help="Repeats; medians are reported.")
    p.add_argument("--threads", type=int, default=0,
                   help="torch intra-op threads for every loop (0: ddcf's auto choice, 1 on a 2-core machine).")
    p.add_argument("--seed", type=int, default=0, help="Seed of the synthetic data.")
    p.add_argument("--workdir", default=None,
                   help="Also time --epochs epochs of the real training stage on this work directory "
                   "(needs stages 1-3).")
    p.add_argument("--epochs", type=int, default=30, help="Epochs for --workdir (default: 30, the paper's).")
    a = p.parse_args(argv)

    threads = resolve_threads(a.threads)
    torch.set_num_threads(threads)
    cfg = PredictorConfig(arch="paper", batch_size=a.batch_size)
    emb_np, mid_np, q_np, y_np = synthetic(a.models, a.questions, a.dim, a.seed)
    n = len(y_np)
    fast_steps = a.fast_steps or math.ceil(n / a.batch_size)
    emb, mid, qrow, y = (torch.from_numpy(x) for x in (emb_np, mid_np, q_np, y_np))
    spare = use_noise_prefetch("cpu", threads, cfg.alpha, "auto")
    print(f"pairs {n:,} ({a.models} models x {a.questions:,} questions), dim {a.dim}, batch {a.batch_size}, "
          f"torch threads {threads} in every loop; ours {fast_steps} steps, baseline {a.baseline_steps} steps "
          f"per repeat; spare core for batch prefetch: {'yes' if spare else 'no'}")
    rates: dict[str, list[float]] = {k: [] for k in [*VARIANTS, "baseline"]}
    for r in range(a.repeats):
        for label, (out_dropout, drop_path, prefetch) in VARIANTS.items():
            vcfg = PredictorConfig(arch="paper", batch_size=a.batch_size, out_dropout=out_dropout, drop_path=drop_path)
            rates[label].append(run_fast(emb, mid, qrow, y, a.models, vcfg, fast_steps, r, prefetch and spare))
        rates["baseline"].append(run_baseline(emb, mid, qrow, y, a.models, cfg, a.baseline_steps, r))
        print(f"  repeat {r + 1}: " + " | ".join(f"{v[-1]:,.0f}" for v in rates.values()))
    med = {k: statistics.median(v) for k, v in rates.items()}
    b = med["baseline"]
    print(f"\nmedian pairs/s over {a.repeats} repeats (ratio to the baseline):")
    print(f"  {'baseline: per-item Dataset + DataLoader, autograd':50s} {b:>10,.0f}   1.0x   30 epochs: "
          f"{30 * n / b:,.0f} s")
    for label in VARIANTS:
        print(f"  {label:50s} {med[label]:>10,.0f} {med[label] / b:5.1f}x   30 epochs: {30 * n / med[label]:,.0f} s")
    bf, bb = zip(*(batching_only(emb, mid, qrow, y, a.batch_size, a.baseline_steps, r) for r in range(a.repeats)))
    print(f"batching alone (no model): tensor indexing {statistics.median(bf):,.0f} pairs/s | DataLoader "
          f"{statistics.median(bb):,.0f} pairs/s | ratio {statistics.median(bf) / statistics.median(bb):.0f}x")
    if a.workdir:
        real_data(a.workdir, a.epochs, threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
