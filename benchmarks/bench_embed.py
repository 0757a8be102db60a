"""Benchmark stage 3 (question embeddings) on real corpus questions with the packaged MiniLM on CPU.

Measures, in one run and interleaved (the variants take turns, so a burst of load from another job hits all
of them alike), the median over ``--repeats`` of sentences/s for:

* (a) naive: ``SentenceTransformer.encode`` on the questions in file order, duplicates included, batch 32;
* (b) ours: the ddcf stage itself (``embed_tables``: de-duplication by text hash, batches ordered by token
  count, longest first, one encode() call per batch, its CPU batch size, the exact fp32 model), cache wiped
  before every repeat, timed end to end including its parquet/npy writes;
* (c) an int8 candidate: the same stage with the model's Linear layers replaced by torch dynamic int8
  quantization (``torch.ao.quantization.quantize_dynamic``).  It is built here only, to measure it: the
  stage ships it only if it is >= 2x faster than (b) with min cosine >= 0.99 to (b)'s vectors.

Sentences/s counts the N input questions (every row gets a vector, duplicates too).  The script also prints
tokens/s, the ratios, min/mean cosine of (c) and of (a) against (b), and the load average (a busy machine
makes absolute figures meaningless; the ratios measured in the same run remain comparable).

Usage::

    python benchmarks/bench_embed.py                          # 2000 questions, 3 repeats (minutes on 2 busy cores)
    python benchmarks/bench_embed.py --n 300 --repeats 2      # quick look
    python benchmarks/bench_embed.py --quant none             # (a) and (b) only
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2000, help="Number of corpus questions to embed (default 2000).")
    p.add_argument("--repeats", type=int, default=3,
                   help="Timed repeats of each variant; medians are reported (default 3).")
    p.add_argument(
        "--sample",
        choices=["random", "head"],
        default="random",
        help="random: a seeded random sample of rows, kept in file order, mixing GSM8K/MATH/AIME (default); "
        "head: the first N rows (all GSM8K).",
    )
    p.add_argument("--seed", type=int, default=0, help="Sampling seed (default 0).")
    p.add_argument("--corpus", default=None,
                   help="Corpus parquet with a 'question' column (default: the bundled corpus).")
    p.add_argument("--naive_batch_size", type=int, default=32, help="Batch size of the naive baseline (default 32).")
    p.add_argument("--batch_size", type=int, default=None,
                   help="Batch size of the stage (default: the stage's own CPU default, 16).")
    p.add_argument(
        "--quant",
        choices=["per_channel", "per_tensor", "none"],
        default="per_channel",
        help="Int8 candidate (c): per-channel or per-tensor weight scales, or none to skip it (default per_channel, "
        "the more accurate of the two).",
    )
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice).")
    return p.parse_args(argv)


def _load_questions(args):
    import pandas as pd

    from ddcf.bundled.files import CORPUS

    df = pd.read_parquet(args.corpus or CORPUS)
    if args.n < 1:
        raise SystemExit("--n must be >= 1")
    n = min(args.n, len(df))
    if args.sample == "random":
        df = df.sample(n, random_state=args.seed).sort_index()  # file order, so (a) really is "as read"
    else:
        df = df.head(n)
    df = df.reset_index(drop=True)
    return pd.DataFrame({"question_id": [f"q{i}" for i in range(len(df))], "question": df["question"].astype(str)})


def _quantize(model, how: str):
    import torch
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    qconfig = per_channel_dynamic_qconfig if how == "per_channel" else default_dynamic_qconfig
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's deprecation notice: the API still works in this torch
        quantize_dynamic(model, {torch.nn.Linear: qconfig}, inplace=True)
    return model


def _cosines(x, y):
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    c = (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
    return c


def main(argv=None) -> int:
    import numpy as np
    import torch

    from ddcf.embed.batching import count_tokens, default_batch_size
    from ddcf.embed.models import load_sentence_transformer, resolve_model
    from ddcf.embed.stage import embed_tables
    from ddcf.io import load_embeddings, write_parquet
    from ddcf.layout import Layout

    args = parse_args(argv)
    if args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    load_before = os.getloadavg()

    questions = _load_questions(args)
    texts = questions["question"].tolist()
    n = len(texts)
    n_distinct = len(set(texts))

    spec = resolve_model("auto", "cpu")
    model = load_sentence_transformer(spec)
    n_tokens = count_tokens(model, texts)
    variants = {}

    tmp = tempfile.TemporaryDirectory(prefix="bench_embed_")
    layouts = {}

    def stage_runner(key, encoder, run_spec):
        layout = Layout(Path(tmp.name) / key)
        write_parquet(questions, layout.corpus_questions)
        layouts[key] = layout

        def run():
            return embed_tables(
                layout, which=("corpus",), spec=run_spec, encoder=encoder, batch_size=args.batch_size,
                overwrite=True, progress=False,
            )

        return run

    naive_out = {}

    def naive():
        naive_out["v"] = model.encode(
            texts, batch_size=args.naive_batch_size, convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=False,
        )

    variants["a"] = ("(a) naive encode, file order, dups, batch %d" % args.naive_batch_size, naive)
    stage_batch = args.batch_size or default_batch_size("cpu")
    variants["b"] = (f"(b) ours: stage, dedup + token order, batch {stage_batch}, fp32", stage_runner("b", model, spec))
    if args.quant != "none":
        qmodel = _quantize(load_sentence_transformer(spec), args.quant)
        # A distinct model name gives the candidate its own cache folder: its vectors never mix with fp32 ones.
        qspec = replace(spec, name=f"{spec.name}+int8-dynamic-{args.quant}")
        variants["c"] = (f"(c) stage + torch dynamic int8 ({args.quant})", stage_runner("c", qmodel, qspec))

    # Warm-up: the first forward passes pay one-off costs (allocator, kernel selection).
    warm = texts[: min(64, n)]
    model.encode(warm, batch_size=32, show_progress_bar=False)
    if "c" in variants:
        qmodel.encode(warm, batch_size=32, show_progress_bar=False)

    print(f"bench_embed: {n} corpus questions ({args.sample} sample, seed {args.seed}), {n_distinct} distinct, "
          f"{n_tokens} tokens; model {spec.name} on CPU, torch threads {torch.get_num_threads()}, "
          f"repeats {args.repeats}; load average before: {load_before[0]:.2f}")
    times = {k: [] for k in variants}
    keys = list(variants)
    last_stats = None
    for r in range(args.repeats):
        order = keys[r % len(keys):] + keys[: r % len(keys)]  # rotate who goes first
        for k in order:
            t0 = time.perf_counter()
            out = variants[k][1]()
            dt = time.perf_counter() - t0
            times[k].append(dt)
            if k == "b":
                last_stats = out[0].stats
            print(f"  repeat {r + 1} {k}: {dt:7.2f} s  ({n / dt:6.1f} sentences/s)", flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    print(f"  {'variant':52s} {'median s':>9s} {'sent/s':>8s} {'tokens/s':>9s}  all runs (s)")
    for k, (label, _) in variants.items():
        tps = f"{n_tokens / med[k]:9.0f}" if n_tokens else f"{'-':>9s}"
        runs = ", ".join(f"{t:.2f}" for t in times[k])
        print(f"  {label:52s} {med[k]:9.2f} {n / med[k]:8.1f} {tps}  {runs}")
    print()
    print(f"  ratio (b)/(a) speed-up: {med['a'] / med['b']:.2f}x")

    ref, ref_ids, _ = load_embeddings(layouts["b"].corpus_embeddings)
    ref = np.asarray(ref)
    assert ref_ids == questions["question_id"].tolist()
    cos_ab = _cosines(naive_out["v"], ref)
    print(f"  cosine (a) vs (b): min {cos_ab.min():.6f} (the stage's fp32 path is the same computation)")
    if last_stats is not None:
        s = last_stats
        print(f"  stage's own report (last repeat): {s.n_rows} rows, {s.duplicates_skipped} duplicates skipped, "
              f"{s.n_embedded} embedded in {s.embed_seconds:.2f} s = {s.texts_per_s:.1f} texts/s, "
              f"{s.tokens_per_s or 0:.0f} tokens/s; wall {s.wall_seconds:.2f} s")
    if "c" in variants:
        q, q_ids, qman = load_embeddings(layouts["c"].corpus_embeddings)
        assert q_ids == ref_ids
        cos = _cosines(q, ref)
        speed = med["b"] / med["c"]
        print(f"  ratio (c)/(b) speed-up: {speed:.2f}x   (c)/(a): {med['a'] / med['c']:.2f}x")
        print(f"  cosine (c) vs (b) on {n} questions: min {cos.min():.4f}  mean {cos.mean():.4f}  "
              f"1st percentile {np.percentile(cos, 1):.4f}  share >= 0.99: {(cos >= 0.99).mean():.1%}")
        ok = speed >= 2.0 and cos.min() >= 0.99
        print(f"  ship criteria (>= 2x faster than (b) and min cosine >= 0.99): {'MET' if ok else 'NOT met'}")
    load_after = os.getloadavg()
    print(f"  load average after: {load_after[0]:.2f} (1 min), {load_after[1]:.2f} (5 min) on {os.cpu_count()} CPUs")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
