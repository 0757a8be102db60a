"""Does the hand-derived backward pass of ``--arch paper`` still pay? (issue 22: keep it only if it does.)

ddcf once trained the paper's predictor with a hand-derived fused forward/backward (``ddcf/predictor/fastpath.py``,
306 lines, written for the residual block *without* the released code's second dropout and per-pair drop-path).
It was removed when ``--arch paper`` started to train the released block (commit 4ef4067). This script keeps the
decision checkable: it extracts the last version that had the fused step from git (``git archive``, into a
temporary folder; nothing is installed), times one training epoch slice there with the fused step and with
plain autograd, alternating, on the same synthetic pairs, for several seeds, and in the same run times today's
autograd loop on the same pairs (the earlier block, and the released block that ``--arch paper`` trains).
Medians of pairs/s and their ratios are printed. One torch thread everywhere, no noise prefetch (the fused
step's prefetch and ours would otherwise compete for the second core).

Needs a git checkout (the removed code comes from the repository's history).

    python benchmarks/bench_paper_backward.py                       # 23 models x 4,000 questions, 3 seeds
    python benchmarks/bench_paper_backward.py --questions 17500     # paper scale
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without `pip install -e .`

import torch  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_predictor_training import run_fast, synthetic  # noqa: E402

from ddcf.predictor.config import PredictorConfig  # noqa: E402

REMOVED = "ddcf/predictor/fastpath.py"

# Runs inside the extracted old tree: its own bench's synthetic() (identical to ours) and run_fast(step=...).
CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + "/benchmarks")
import torch
torch.set_num_threads(1)
from bench_predictor_training import run_fast, synthetic
from ddcf.predictor.config import PredictorConfig
models, questions, dim, steps, seed = map(int, sys.argv[2:7])
emb, mid, qrow, y = (torch.from_numpy(a) for a in synthetic(models, questions, dim, seed))
cfg = PredictorConfig(arch="paper", no_progress=True)
out = {step: run_fast(emb, mid, qrow, y, models, cfg, steps, seed, prefetch=False, step=step)
       for step in ("fused", "autograd", "fused")}  # fused twice around autograd: same load for both
print(json.dumps(out))
"""


def last_version_with_fastpath() -> str:
    deleted = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%H", "--diff-filter=D", "--", REMOVED],
                             capture_output=True, text=True, check=True).stdout.strip()
    if not deleted:
        sys.exit(f"{REMOVED} is not in this repository's history (a shallow clone?); run from a full git clone.")
    return deleted + "^"


def extract(ref: str, into: Path) -> None:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "ddcf", "benchmarks/bench_predictor_training.py"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=int, default=23, help="Number of models (default: 23, the paper's).")
    p.add_argument("--questions", type=int, default=4000, help="Seed questions (default: 4,000; paper: 17,500).")
    p.add_argument("--dim", type=int, default=384, help="Question-embedding dim (default: 384, MiniLM).")
    p.add_argument("--steps", type=int, default=40, help="Optimisation steps timed per run (batch 1028).")
    p.add_argument("--seeds", type=int, default=3, help="Seeds (data, init, draws); medians are reported.")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    ref = last_version_with_fastpath()
    rates: dict[str, list[float]] = {"fused (removed)": [], "autograd, same version": [],
                                     "autograd today, earlier block": [], "autograd today, released block": []}
    with tempfile.TemporaryDirectory(prefix="ddcf-fastpath-") as tmp:
        extract(ref, Path(tmp))
        for seed in range(args.seeds):
            got = subprocess.run([sys.executable, "-c", CHILD, tmp, str(args.models), str(args.questions),
                                  str(args.dim), str(args.steps), str(seed)],
                                 capture_output=True, text=True, check=True)
            old = json.loads(got.stdout.strip().splitlines()[-1])
            rates["fused (removed)"].append(old["fused"])
            rates["autograd, same version"].append(old["autograd"])
            emb, mid, qrow, y = (torch.from_numpy(a) for a in synthetic(args.models, args.questions, args.dim, seed))
            for label, extra in (("autograd today, earlier block", dict(out_dropout=0.0, drop_path=0.0)),
                                 ("autograd today, released block", {})):
                cfg = PredictorConfig(arch="paper", no_progress=True, **extra)
                rates[label].append(run_fast(emb, mid, qrow, y, args.models, cfg, args.steps, seed, prefetch=False))
    print(f"{args.models} models x {args.questions:,} questions, d={args.dim}, batch 1028, {args.steps} steps, "
          f"{args.seeds} seeds, 1 thread; removed code from {ref}")
    base = statistics.median(rates["autograd, same version"])
    for label, values in rates.items():
        med = statistics.median(values)
        print(f"  {label:32s} {med:10,.0f} pairs/s   {med / base:5.2f}x autograd of the same version   "
              f"(per seed: {', '.join(f'{v:,.0f}' for v in values)})")
    fused = statistics.median(rates["fused (removed)"])
    print(f"fused / autograd (same version, same block): {fused / base:.2f}x; "
          f"fused (earlier block) / today's released-block autograd: "
          f"{fused / statistics.median(rates['autograd today, released block']):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
