"""Benchmark the answer verifier on the bundled real outputs (88,090 completions of 44/43 LLMs).

Measures, in one run:

* ours: ``grade_completions`` with a cold cache (extraction, fast exact/numeric path, dedupe, then
  math-verify in killable worker processes) -> wall time, pairs/s, dedupe/fast-path/cache shares,
  the 10 slowest pairs, how many hit the time limit; then the same again with the warm persistent
  cache;
* baseline: a random sample of the distinct (prediction, gold) pairs checked by math-verify alone,
  serially (one worker process, so a hang cannot stall the benchmark), no fast path, no cache,
  extrapolated to all distinct pairs and to all rows;
* the pathological set (power tower, 10,000-character answer, deep nesting, malformed ``\\boxed{``);
* answer extraction on 10 MB pathological completions (bounded: only the last ``SCAN_CHARS`` are read).

Usage::

    python benchmarks/bench_verify.py                    # all 88k rows (about 1-2 minutes on 2 cores)
    python benchmarks/bench_verify.py --limit 5000 --repeats 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    from ddcf.verify.config import DEFAULT_TIMEOUT_S

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--completions", default=None, help="Completions table (default: the bundled 88k outputs).")
    p.add_argument("--limit", type=int, default=None, help="Use only a random sample of N rows (default: all).")
    p.add_argument("--repeats", type=int, default=1, help="Cold-cache runs of ours; the median is reported.")
    p.add_argument("--baseline_sample", type=int, default=300,
                   help="Distinct pairs checked by plain math-verify for the baseline (default 300).")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                   help=f"Per-pair time limit in seconds (default {DEFAULT_TIMEOUT_S:g}).")
    p.add_argument("--workers", type=int, default=None, help="Worker processes (default: one per CPU).")
    p.add_argument("--seed", type=int, default=0, help="Sampling seed.")
    return p.parse_args(argv)


def main(argv=None) -> int:
    import pandas as pd

    from ddcf.bundled.files import SEED_COMPLETIONS
    from ddcf.verify.equivalence import Verifier, gold_key, prediction_key
    from ddcf.verify.extract import get_chain
    from ddcf.verify.gold import grading_style, normalize_gold
    from ddcf.verify.grade import grade_completions
    from ddcf.verify.workers import MathVerifyWorkers, default_workers

    args = parse_args(argv)
    workers = args.workers or default_workers()
    df = pd.read_parquet(args.completions or SEED_COMPLETIONS)
    if args.limit:
        df = df.sample(n=min(args.limit, len(df)), random_state=args.seed).reset_index(drop=True)
    print(f"rows: {len(df):,}  models: {df['model'].nunique()}  workers: {workers}  timeout: {args.timeout:g} s")

    # ------------------------------------------------------------------ ours, cold cache
    walls, stats, verdicts = [], None, None
    tmp = Path(tempfile.mkdtemp(prefix="bench_verify_"))
    for r in range(max(1, args.repeats)):
        cache = tmp / f"cache{r}.parquet"
        t0 = time.perf_counter()
        with Verifier(timeout=args.timeout, workers=workers, cache_path=cache, progress=False) as v:
            verdicts = grade_completions(df, verifier=v, progress=False)
        walls.append(time.perf_counter() - t0)
        stats = v.stats
    ours = statistics.median(walls)
    s = stats
    fast = s.exact + s.numeric + s.symbolic
    print("\n== ours (cold cache) ==")
    print(f"wall: median {ours:.1f} s of {len(walls)} run(s) {[round(w, 1) for w in walls]}")
    print(f"rows with an answer: {s.pairs:,}  distinct pairs: {s.distinct:,}  "
          f"(dedupe hit rate {1 - s.distinct / max(1, s.pairs):.1%})")
    print(f"decided by fast path: {fast:,} ({fast / max(1, s.distinct):.1%}: exact {s.exact}, numeric {s.numeric}, "
          f"symbolic {s.symbolic});  math-verify: {s.math_verify:,};  persistent-cache hits: {s.cache_hits}")
    print(f"throughput: {s.pairs / ours:,.0f} rows/s, {s.distinct / ours:,.0f} distinct pairs/s; "
          f"math-verify CPU {s.math_verify_seconds:.1f} s ({s.math_verify_seconds / max(1, s.math_verify) * 1000:.0f} "
          f"ms/pair)")
    print(f"hit the time limit: {s.timeouts} (workers killed: {s.kills}); errors: {s.errors}")
    print("10 slowest math-verify pairs (seconds, prediction, gold, status):")
    for sec, p, g, st in sorted(s.slowest, reverse=True):
        print(f"  {sec:6.2f}  {p[:60]!r:64} {g[:20]!r:22} {st}")
    acc = verdicts.groupby("dataset")["correct"].mean()
    print("accuracy (correct / all rows): " + ", ".join(f"{k} {v:.2%}" for k, v in acc.items()))
    print("status: " + ", ".join(f"{k} {v:,}" for k, v in verdicts["status"].value_counts().items()))

    # ------------------------------------------------------------------ ours, warm cache
    t0 = time.perf_counter()
    with Verifier(timeout=args.timeout, workers=workers, cache_path=tmp / "cache0.parquet", progress=False) as v:
        grade_completions(df, verifier=v, progress=False)
    warm = time.perf_counter() - t0
    print(f"\n== ours (warm persistent cache) ==\nwall: {warm:.1f} s; cache hits {v.stats.cache_hits:,} of "
          f"{v.stats.cache_hits + v.stats.math_verify:,} slow pairs; math-verify calls {v.stats.math_verify}")

    # ------------------------------------------------------------------ baseline: plain math-verify, serial
    pairs, n_rows = set(), 0
    for comp, gold, ds in zip(df["completion"], df["gold"], df.get("dataset", [None] * len(df))):
        style = grading_style(ds, gold)
        ans = get_chain(style)(comp).answer
        if ans is None:
            continue
        n_rows += 1
        pairs.add((ans, normalize_gold(gold, style)))
    pairs = sorted(pairs)
    rng = random.Random(args.seed)
    sample = rng.sample(pairs, min(args.baseline_sample, len(pairs)))
    per_pair = []
    for _ in range(max(1, args.repeats)):
        with MathVerifyWorkers(workers=1, timeout=args.timeout) as pool:
            pool.run([("1", "1")])  # start-up is not part of the per-pair cost
            out = pool.run(sample)
        per_pair.append(sum(o.seconds for o in out) / len(out))
    mean_s = statistics.median(per_pair)
    base_distinct = mean_s * len(pairs)
    base_rows = mean_s * n_rows
    print("\n== baseline: math-verify alone, serial, no fast path, no cache ==")
    print(f"sample: {len(sample)} of {len(pairs):,} distinct raw pairs; mean {mean_s * 1000:.1f} ms/pair "
          f"(median over {len(per_pair)} run(s)); timeouts in sample: {sum(o.status == 'timeout' for o in out)}")
    print(f"extrapolated: {base_distinct:.0f} s for the distinct pairs, {base_rows:.0f} s for all {n_rows:,} rows")
    print(f"\nratio: baseline(distinct pairs) / ours = {base_distinct / ours:.1f}x;  "
          f"baseline(all rows) / ours = {base_rows / ours:.1f}x")

    # ------------------------------------------------------------------ pathological inputs
    patho = {
        "power tower 9^{9^{9^{9^{9}}}}": "9^{9^{9^{9^{9}}}}",
        "10,000-char answer": "+".join(f"x_{{{i}}}^{{{i % 7}}}" for i in range(1500))[:10_000],
        "nested \\frac x300": "\\frac{1}{" * 300 + "2" + "}" * 300,
        "malformed \\boxed{": "\\boxed{\\frac{1}{2" + "{" * 50,
    }
    print(f"\n== pathological inputs (limit {args.timeout:g} s) ==")
    with Verifier(timeout=args.timeout, workers=workers, progress=False) as v:
        gk = gold_key("2\\sqrt{3}", "math")  # not a number: no shortcut, math-verify must decide
        v.check([("1", gk, "math"), ("\\sqrt{4}", gk, "math")])  # start the workers first
        for name, text in patho.items():
            t0 = time.perf_counter()
            verdict = v.check([(prediction_key(text, "math", gk), gk, "math")])[0]
            print(f"  {name:32} -> correct={verdict.correct} status={verdict.status:8} "
                  f"{time.perf_counter() - t0:5.2f} s")

    # ------------------------------------------------------------------ pathological completions
    from ddcf.verify.extract import SCAN_CHARS

    mb = 10_000_000
    completions = {
        'repeated \'"answer": "\'': '"answer": "' * (mb // 11),
        'repeated \'"answer": {\'': '"answer": {' * (mb // 11),
        "repeated '\\n## Question:'": "\n## Question:" * (mb // 13),
        "10 MB of digits": "9" * mb,
    }
    print(f"\n== extraction on 10 MB completions (scans the last {SCAN_CHARS:,} characters) ==")
    for name, text in completions.items():
        t0 = time.perf_counter()
        ex = [get_chain(c)(text) for c in ("math", "gsm8k")]
        print(f"  {name:32} -> {time.perf_counter() - t0:5.2f} s (truncated={ex[0].truncated})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
