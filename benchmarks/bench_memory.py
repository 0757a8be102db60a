"""Benchmark: peak memory (RSS) of `ddcf select` at two corpus sizes, per method (issue 25, "memory at paper scale").

For every corpus size it builds a synthetic work directory with real-shaped columns - corpus table
question_id, question (~230 characters, as the bundled corpus), response (--response_chars, default 4,000: the
published corpus's responses are long), answer, dataset; corpus embeddings N x d float32 (d = 384 as MiniLM,
2,560 as the paper's Qwen3-Embedding-4B); the target's predicted-correctness table - then runs
`ddcf select --method M --num_select K` (ds2: with a 0..5 ratings table) once per (method, size, dimension) in
its own process and reads that process's peak resident memory from the kernel (``os.wait4`` rusage
``ru_maxrss``: the high-water mark, not a sample).  It prints MB, seconds, and the growth from the smallest to
the largest size next to the growth of the input (the embedding matrix).

    python benchmarks/bench_memory.py                                  # 20k and 189,257 rows, d = 2,560
    python benchmarks/bench_memory.py --quick                          # 2k and 8k rows, d = 384 (a minute)
    python benchmarks/bench_memory.py --sizes 20000,189257 --dims 384,2560 --methods random,ddcf,disf,ds2
    git worktree add /tmp/before <commit> && python benchmarks/bench_memory.py --baseline /tmp/before
        # every run twice: the code of that checkout (PYTHONPATH), then this one; prints both and after/before

A run above --max_rss_gb (default 12) or --timeout seconds is killed and reported as such (the machine is shared:
DS2's exact neighbour search is O(N^2 d) and takes tens of minutes at 189k on two cores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without `pip install -e .`

MODEL = "bench/Target-8B"
WORDS = ("the of and to in is that for it as with was on be by this are an from at which or have not but all "
         "sum product integer prime triangle angle circle radius square root equation solve value number answer "
         "therefore compute find let where so then we get total each more than less equal").split()


def build_workdir(root: Path, n: int, d: int, response_chars: int, seed: int = 0) -> Path:
    """A work directory `ddcf select` accepts: corpus table, embeddings (+ids, manifest), difficulty table."""
    import pandas as pd

    from ddcf.io import save_embeddings, write_parquet
    from ddcf.layout import Layout

    layout = Layout(root)
    rng = np.random.default_rng(seed)
    filler = " ".join(rng.choice(WORDS, 4 * response_chars // 5 + 2000))
    span = len(filler) - response_chars - 1
    starts = rng.integers(0, span, n)
    qlen = np.clip(rng.normal(230, 120, n), 20, 2000).astype(int)
    ids = [f"q{i:07d}" for i in range(n)]
    corpus = pd.DataFrame({
        "question_id": ids,
        "question": [f"Problem {i}: " + filler[s:s + q] for i, s, q in zip(range(n), starts, qlen)],
        "response": [f"Solution {i}: " + filler[s:s + response_chars] for i, s in zip(range(n), starts)],
        "answer": [str(i % 997) for i in range(n)],
        "dataset": np.array(["math", "gsm8k", "aime"])[rng.integers(0, 3, n)],
    })
    write_parquet(corpus, layout.corpus_questions)
    del corpus
    x = np.empty((n, d), dtype=np.float32)
    for a in range(0, n, 8192):  # clustered-ish unit rows, block by block
        b = min(n, a + 8192)
        v = rng.standard_normal((b - a, d), dtype=np.float32) + np.float32(0.6)
        x[a:b] = v / np.linalg.norm(v, axis=1, keepdims=True)
    save_embeddings(x, ids, layout.corpus_embeddings, {"embedding_model": "bench-model", "normalized": True})
    del x
    p = rng.beta(2, 2, n).astype(np.float32)
    write_parquet(pd.DataFrame({"question_id": ids, "predicted_correctness": p}), layout.difficulty(MODEL),
                  metadata={"model": MODEL, "embedding_model": "bench-model"})
    # discrete 0..5 ratings for --method ds2 (an LLM rater's scores; without them ds2 needs a trained predictor)
    write_parquet(pd.DataFrame({"question_id": ids, "rating": rng.integers(0, 6, n)}), root / "ratings.parquet")
    return root


def peak_rss(cmd: list[str], timeout: float, max_rss_gb: float, log: Path, env: dict | None = None,
             cwd: Path | None = None) -> tuple[str, float, float]:
    """Run ``cmd``; return (status, peak RSS MB from the kernel, seconds).  Killed past the time or memory cap."""
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env,
                                cwd=cwd)
    status = "ok"
    cap_kb = max_rss_gb * 2**20
    while True:
        pid, wstatus, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > timeout:
            status = f"killed >{timeout:.0f}s"
        else:
            try:  # the current RSS (the cap); the reported peak comes from the kernel at exit
                rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                              if line.startswith("VmRSS:"))
            except (OSError, StopIteration):
                rss_kb = 0
            if rss_kb > cap_kb:
                status = f"killed >{max_rss_gb:g} GB"
        if status != "ok":
            os.killpg(proc.pid, signal.SIGKILL)
            _, wstatus, ru = os.wait4(proc.pid, 0)
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - t0
    if status == "ok" and os.waitstatus_to_exitcode(wstatus) != 0:
        status = f"exit {os.waitstatus_to_exitcode(wstatus)} (see {log})"
    return status, ru.ru_maxrss / 1024, seconds  # ru_maxrss is in KiB on Linux


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="20000,189257", help="Comma-separated corpus sizes (default 20000,189257).")
    ap.add_argument("--dims", default="2560", help="Comma-separated embedding dimensions (default 2560; 384 = MiniLM).")
    ap.add_argument("--methods", default="random,ddcf,disf,ds2", help="Comma-separated selectors.")
    ap.add_argument("--num_select", type=int, default=1000, help="k (default 1000).")
    ap.add_argument("--response_chars", type=int, default=4000, help="Characters per response (default 4000).")
    ap.add_argument("--timeout", type=float, default=600, help="Seconds before a run is killed (default 600).")
    ap.add_argument("--max_rss_gb", type=float, default=12, help="RSS at which a run is killed (default 12).")
    ap.add_argument("--extra", default="", help="Extra `ddcf select` options, e.g. '--device cpu'.")
    ap.add_argument("--keep", default=None, help="Keep the work directories under this folder (default: temporary).")
    ap.add_argument("--quick", action="store_true", help="2,000 and 8,000 rows, d = 384, k = 100.")
    ap.add_argument("--baseline", default=None,
                    help="A checkout of other code (e.g. `git worktree add /tmp/before <commit>`): each run is made "
                         "with it first (PYTHONPATH) and then with this checkout; both peaks and their ratio printed.")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.dims, args.num_select = "2000,8000", "384", 100
    baseline = Path(args.baseline).resolve() if args.baseline else None
    if baseline is not None and not (baseline / "ddcf" / "__init__.py").is_file():
        ap.error(f"--baseline {args.baseline}: not a checkout of ddcf (no ddcf/__init__.py in it); make one with "
                 "`git worktree add /tmp/before <commit>`.")
    sizes = [int(v) for v in args.sizes.split(",") if v.strip()]
    dims = [int(v) for v in args.dims.split(",") if v.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_memory_"))
    base.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[str, int, int], tuple[str, float, float]] = {}
    print(f"k={args.num_select}, responses {args.response_chars:,} chars, cap {args.max_rss_gb:g} GB / "
          f"{args.timeout:g} s; work directories under {base}")
    print(f"{'method':>8s} {'N':>9s} {'d':>5s} {'matrix MB':>10s} {'peak RSS MB':>12s} {'seconds':>8s}  status")
    try:
        for d in dims:
            for n in sizes:
                wd = base / f"n{n}_d{d}"
                if not (wd / ".built").is_file():
                    build_workdir(wd, n, d, args.response_chars)
                    (wd / ".built").write_text("ok")
                for m in methods:
                    cmd = [sys.executable, "-m", "ddcf", "select", "--workdir", str(wd), "--model_name", MODEL,
                           "--method", m, "--num_select", str(args.num_select), "--no_progress",
                           "--output_dir", str(wd / "out" / m), *args.extra.split()]
                    if m == "ds2":
                        cmd += ["--ratings", str(wd / "ratings.parquet")]
                    if baseline is not None:
                        # run from inside the checkout: `python -m` puts the working folder first on sys.path,
                        # before PYTHONPATH, so from this repository's root the baseline would be this code again
                        b = peak_rss(cmd, args.timeout, args.max_rss_gb, wd / f"{m}.baseline.log",
                                     env={**os.environ, "PYTHONPATH": str(baseline)}, cwd=baseline)
                        shutil.rmtree(wd / "out", ignore_errors=True)
                        print(f"{m:>8s} {n:>9,d} {d:>5d} {n * d * 4 / 2**20:10.0f} {b[1]:12.0f} {b[2]:8.1f}  {b[0]}"
                              " (baseline)", flush=True)
                    results[m, n, d] = r = peak_rss(cmd, args.timeout, args.max_rss_gb, wd / f"{m}.log")
                    ratio = f"  x{r[1] / b[1]:.2f} of the baseline's peak" if baseline is not None else ""
                    print(f"{m:>8s} {n:>9,d} {d:>5d} {n * d * 4 / 2**20:10.0f} {r[1]:12.0f} {r[2]:8.1f}  {r[0]}{ratio}",
                          flush=True)
                    shutil.rmtree(wd / "out", ignore_errors=True)
        if len(sizes) > 1:
            lo, hi = min(sizes), max(sizes)
            print(f"growth from N={lo:,} to N={hi:,} (input x{hi / lo:.1f}):")
            for d in dims:
                for m in methods:
                    a, b = results[m, lo, d], results[m, hi, d]
                    tag = "" if a[0] == b[0] == "ok" else "  (a run was killed or failed: a lower bound)"
                    print(f"  {m:>8s} d={d:<5d} peak RSS x{b[1] / a[1]:.2f}  (+{b[1] - a[1]:,.0f} MB){tag}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
