"""Benchmark get_question_embeddings.py --executor ray against the local path (packaged MiniLM, CPU).

Embeds the same ``--n`` bundled corpus questions with both executors, interleaved (local, ray, local, ray, ...:
a burst of load from another job hits both alike), the cache wiped before every repeat, and prints the median
texts/s of each, their ratio, Ray's per-node summary and whether the two outputs are byte-identical.

The Ray instance is started once, before the clock (as a cluster would already be running); each Ray repeat
includes starting its worker actors and loading the model in each, because a real run pays that too.  On a
2-core machine expect a ratio <= 1x: the two paths share the same cores, and Ray adds worker start-up and
one model per worker; the point is that the same command runs unchanged on a cluster.

Usage::

    python benchmarks/bench_embed_ray.py                       # 384 questions, 3 repeats, shards of 64
    python benchmarks/bench_embed_ray.py --n 128 --repeats 1   # quick look
    python benchmarks/bench_embed_ray.py --ray_address auto    # on a running cluster (`ray start --head`)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=384, help="Corpus questions to embed (default 384).")
    p.add_argument("--repeats", type=int, default=3, help="Timed repeats of each executor; medians (default 3).")
    p.add_argument("--shard_size", type=int, default=64, help="Texts per shard, both paths (default 64).")
    p.add_argument("--batch_size", type=int, default=16, help="Texts per forward pass, both paths (default 16).")
    p.add_argument("--seed", type=int, default=0, help="Sampling seed (default 0).")
    p.add_argument("--ray_address", default=None, help="Join this Ray cluster instead of starting one here.")
    p.add_argument("--num_cpus", type=int, default=None,
                   help="CPUs of the Ray instance started here (default: this process's usable cores).")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import pandas as pd

    from ddcf.embed.models import resolve_model
    from ddcf.embed.stage import embed_tables
    from ddcf.executors.ray import RayExecutor, import_ray
    from ddcf.io import write_parquet
    from ddcf.layout import Layout
    from ddcf.runtime import usable_cores

    ray = import_ray()
    corpus = pd.read_parquet(ROOT / "data" / "bundled" / "corpus.parquet", columns=["question"])
    texts = corpus["question"].drop_duplicates().sample(n=args.n, random_state=args.seed).tolist()
    tmp = Path(tempfile.mkdtemp(prefix="bench_embed_ray_"))
    layout = Layout(tmp / "work")
    write_parquet(pd.DataFrame({"question_id": [f"c{i}" for i in range(len(texts))], "question": texts}),
                  layout.corpus_questions)
    spec = resolve_model("auto", "cpu")
    opts = dict(which=("corpus",), spec=spec, shard_size=args.shard_size, batch_size=args.batch_size,
                shard_seconds=1e9, progress=False)
    cores = args.num_cpus or usable_cores()
    if args.ray_address:
        ray.init(address=args.ray_address, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    times: dict[str, list[float]] = {"local": [], "ray": []}
    outputs: dict[str, bytes] = {}
    lines: list[str] = []
    try:
        for _ in range(args.repeats):
            for name in ("local", "ray"):
                shutil.rmtree(layout.embedding_shards, ignore_errors=True)
                t0 = time.perf_counter()
                res = embed_tables(layout, executor=RayExecutor() if name == "ray" else None, **opts)
                times[name].append(time.perf_counter() - t0)
                outputs[name] = layout.corpus_embeddings.read_bytes()
                if name == "ray":
                    lines = res[0].stats.executor_lines
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    rate = {k: args.n / statistics.median(v) for k, v in times.items()}
    where = f" at {args.ray_address}" if args.ray_address else ""
    print(f"{args.n} bundled corpus questions, packaged MiniLM on CPU, shards of {args.shard_size}, batch "
          f"{args.batch_size}, {args.repeats} repeat(s); Ray: {cores} CPU(s){where}; "
          f"load average {os.getloadavg()[0]:.1f}")
    for k in ("local", "ray"):
        print(f"  {k:6s} median {statistics.median(times[k]):6.1f} s = {rate[k]:6.1f} texts/s  "
              f"(runs: {', '.join(f'{t:.1f}' for t in times[k])} s)")
    print(f"  ray / local throughput: {rate['ray'] / rate['local']:.2f}x")
    print(f"  outputs byte-identical: {outputs['local'] == outputs['ray']}")
    for line in lines:
        print("  last ray run: " + line.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
