"""Benchmark: the sharded exact k-greedy on CPU processes vs the single-process path, same run, same data (issue 24).

Data: the synthetic paper-shaped matrix of bench_kgreedy.py (189,257 x 2,560 float32 = 1.94 GB, clustered unit
rows, 0.5 % duplicates) and its Beta predicted correctness.  For each shard count S it runs
``kgreedy_sharded(..., processes=S)`` (S worker processes reading the rows from shared memory), asserts picks,
costs and similarities identical to the single-process run of the same algorithm (``processes=0``, one numpy
shard in this process) and to ``kgreedy_reference``, and prints the median seconds per pick and the ratio.
It then prints, on paper, the memory one shard holds at 10 M x 2,560 (``shard_bytes``).

    python benchmarks/bench_kgreedy_sharded.py               # 189,257 x 2,560, k = 50, S = 2, 3, 4 (~5 min)
    python benchmarks/bench_kgreedy_sharded.py --quick       # 20,000 x 384, k = 30 (seconds)
    python benchmarks/bench_kgreedy_sharded.py --source file # the workers map a .npy (zero copy) instead of
                                                             # shared-memory blocks the driver fills

Per pick, each shard does one float32 matrix-vector pass over its rows; so on a machine with C free cores the
time per pick falls about as min(S, C) until memory bandwidth is the limit, and on a multi-GPU box each GPU
holds only N/S rows.  The first pick (no similarity pass) is excluded from the median.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without `pip install -e .`
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_kgreedy import make_embeddings  # the same synthetic data as the k-greedy benchmark

from ddcf.select.kgreedy.reference import kgreedy_reference
from ddcf.select.kgreedy.sharded import kgreedy_sharded, shard_bytes


def paper_memory(k: int, shard_counts=(1, 8, 16, 32, 64), n: int = 10_000_000, d: int = 2560) -> list[str]:
    lines = [f"memory per shard at N = {n:,} x d = {d:,} (k = {k:,}), computed by shard_bytes:"]
    for s in shard_counts:
        f32, f16 = shard_bytes(n, d, s, k, 4), shard_bytes(n, d, s, k, 2)
        lines.append(f"  S = {s:>3d}: {f32 / 2**30:7.2f} GiB with float32 rows ({f16 / 2**30:6.2f} GiB from a "
                     "float16 file, process shards; torch shards hold float32)")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=189257, help="Rows (default 189,257 = the paper's corpus).")
    ap.add_argument("--dim", type=int, default=2560, help="Dimension (default 2,560 = Qwen3-Embedding-4B).")
    ap.add_argument("--k", type=int, default=50, help="Picks (default 50: every pick costs one pass over the rows).")
    ap.add_argument("--shards", default="2,3,4", help="Comma-separated process counts (default 2,3,4).")
    ap.add_argument("--lamda", type=float, default=0.2)
    ap.add_argument("--redundancy", default="floor", choices=("floor", "signed"))
    ap.add_argument("--source", default="memory", choices=("memory", "file"),
                    help="memory: an in-RAM matrix (the driver fills one shared-memory block per shard); file: a "
                         "temporary .npy memory-mapped by the driver and every worker (zero copy).")
    ap.add_argument("--no_reference", action="store_true", help="Skip the kgreedy_reference run (saves ~1 pass/pick).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="20,000 x 384, k = 30: a check that runs in seconds.")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.dim, args.k = 20000, 384, 30
    counts = [int(v) for v in args.shards.split(",") if v.strip()]

    t0 = time.perf_counter()
    x, pc = make_embeddings(args.n, args.dim, args.seed)
    print(f"data: N={args.n:,} d={args.dim:,} ({x.nbytes / 1e9:.2f} GB float32), k={args.k}, lamda={args.lamda}, "
          f"redundancy={args.redundancy}, source={args.source}; generated in {time.perf_counter() - t0:.0f} s; "
          f"cores visible: {os.cpu_count()}")
    tmp = None
    if args.source == "file":
        tmp = tempfile.TemporaryDirectory(prefix="bench_kgreedy_sharded_")
        np.save(Path(tmp.name) / "x.npy", x)
        del x
        x = np.load(Path(tmp.name) / "x.npy", mmap_mode="r")
    kw = dict(redundancy=args.redundancy)
    try:
        base = kgreedy_sharded(x, pc, args.k, args.lamda, processes=0, **kw)
        b_pick = base.stats["seconds_per_pick_median"]
        print(f"{'run':>26s} {'total s':>8s} {'s/pick (median)':>16s} {'vs 1 process':>13s}  identical picks")
        print(f"{'single process (S=1)':>26s} {base.seconds:8.1f} {b_pick:16.3f} {1.0:12.2f}x  (baseline)")
        if not args.no_reference:
            ref = kgreedy_reference(x, pc, args.k, args.lamda, **kw)
            ok = ref.same_selection(base)
            print(f"{'kgreedy_reference':>26s} {ref.seconds:8.1f} {ref.seconds / args.k:16.3f} {'':>13s}  "
                  f"{'yes' if ok else 'NO'} (mean s/pick incl. setup)")
            assert ok, "kgreedy_reference and the single-process shard disagree"
        for s in counts:
            r = kgreedy_sharded(x, pc, args.k, args.lamda, processes=s, **kw)
            ok = r.same_selection(base)
            pick = r.stats["seconds_per_pick_median"]
            print(f"{f'{s} processes':>26s} {r.seconds:8.1f} {pick:16.3f} {b_pick / pick:12.2f}x  "
                  f"{'yes' if ok else 'NO'} (all {args.k} picks, costs and similarities)")
            assert ok, f"{s} shards picked differently"
    finally:
        if tmp is not None:
            del x
            tmp.cleanup()
    print("\n".join(paper_memory(1000)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
