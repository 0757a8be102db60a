"""Peak memory of converting the full-corpus CSV into the layout's Parquet: streaming vs pandas, same run.

    python benchmarks/bench_download.py                  # 1/8 of the paper's 189,257 rows (a few minutes)
    python benchmarks/bench_download.py --rows 189257    # the paper's size (~2 GB of CSV)

A synthetic ``fullcorpus_math.csv`` of the published shape (prompt_id, prompt, response, gold, subject, len;
R1-like responses: log-normal lengths around --mean_chars characters of Zipf-distributed words, LaTeX,
quotes and blank lines, so it compresses like real text) is converted twice, each in a fresh subprocess:

* ours: ``ddcf.hub.corpus_csv.convert_corpus_csv`` (pyarrow streaming reader -> ParquetWriter);
* baseline: ``pandas.read_csv`` + rename + ``DataFrame.to_parquet``.

Each child reports its resident memory after its imports and its peak (``VmHWM``); the figure is the
increase, i.e. what the conversion itself costs, next to the size of the Parquet it wrote (target < 3x).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROWS_PAPER = 189_257
CHILD = r"""
import json, sys, time
def rss(key):
    for line in open('/proc/self/status'):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
mode, src, dst = sys.argv[1:4]
import pandas as pd, pyarrow, pyarrow.compute, pyarrow.csv, pyarrow.parquet
from ddcf.hub.corpus_csv import convert_corpus_csv
base = rss('VmRSS:')
t0 = time.perf_counter()
if mode == 'stream':
    convert_corpus_csv(src, dst, what='corpus', fix='-', provenance={}, progress=False)
else:
    df = pd.read_csv(src)
    df = df.rename(columns={'prompt': 'question', 'gold': 'answer'})
    df.insert(0, 'question_id', 'corpus/' + df['prompt_id'].astype(str))
    df['dataset'] = 'openr1_math'
    df.to_parquet(dst, compression='zstd', index=False)
print(json.dumps({'base': base, 'peak': rss('VmHWM:'), 'seconds': time.perf_counter() - t0}))
"""


def synth_csv(path: Path, rows: int, mean_chars: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["".join(rng.choice(letters, size=rng.integers(2, 10))) for _ in range(20_000)]
    vocab += ["$x^2$", "\\frac{1}{2}", "\\boxed{42}", "\"quoted\"", "\n\n", "Wait,", "so", "=", "+", "(", ")"]
    vocab = np.array(vocab, dtype=object)
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    p /= p.sum()
    subjects = ["Algebra", "Number Theory", "Geometry", "Combinatorics", "Calculus", "Inequalities"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt_id", "prompt", "response", "gold", "subject", "len"])
        for start in range(0, rows, 1000):
            n = min(1000, rows - start)
            lengths = np.clip(rng.lognormal(np.log(mean_chars) - 0.18, 0.6, n), 200, 30 * mean_chars).astype(int)
            for i, chars in enumerate(lengths):
                words = vocab[rng.choice(len(vocab), size=max(1, chars // 6), p=p)]
                response = "<think>\n" + " ".join(words) + "\n</think>"
                prompt = " ".join(vocab[rng.choice(len(vocab), size=int(rng.integers(15, 80)), p=p)])
                w.writerow([start + i, prompt, response, str(int(rng.integers(0, 1000))),
                            subjects[(start + i) % len(subjects)], len(response)])


def child(mode: str, src: Path, dst: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, mode, str(src), str(dst)], capture_output=True, text=True)
    if r.returncode:
        return {"error": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"}
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["parquet"] = dst.stat().st_size
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=ROWS_PAPER // 8)
    ap.add_argument("--mean_chars", type=int, default=10_000, help="mean response length in characters")
    ap.add_argument("--skip_baseline", action="store_true", help="do not run the pandas baseline (it needs RAM)")
    ap.add_argument("--dir", default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        src = tmp / "fullcorpus_math.csv"
        t0 = time.perf_counter()
        synth_csv(src, args.rows, args.mean_chars)
        print(f"synthetic CSV: {args.rows:,} rows, {src.stat().st_size / 1e6:,.0f} MB "
              f"(made in {time.perf_counter() - t0:.0f} s)")
        runs = {"ours (streaming)": child("stream", src, tmp / "ours.parquet")}
        if not args.skip_baseline:
            runs["pandas read_csv + to_parquet"] = child("pandas", src, tmp / "pandas.parquet")
        print(f"{'method':32s} {'seconds':>8s} {'peak - base MB':>15s} {'parquet MB':>11s} {'ratio':>7s}")
        for name, r in runs.items():
            if "error" in r:
                print(f"{name:32s} failed: {r['error']}")
                continue
            extra = r["peak"] - r["base"]
            print(f"{name:32s} {r['seconds']:8.1f} {extra / 1e6:15,.0f} {r['parquet'] / 1e6:11,.0f} "
                  f"{extra / r['parquet']:6.2f}x")
        print("ratio = peak resident memory of the conversion (above the interpreter and its imports) / the size "
              "of the Parquet it wrote; target < 3x")


if __name__ == "__main__":
    main()
