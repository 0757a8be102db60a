"""Command line of stage 3 (get_question_embeddings.py)."""

from __future__ import annotations

import argparse

from ddcf.cli import add_workdir_arg
from ddcf.embed.batching import CPU_BATCH_SIZE, GPU_BATCH_SIZE, default_batch_size
from ddcf.embed.models import PACKAGED_MINILM, PAPER_MODEL, resolve_model
from ddcf.embed.stage import TABLES, RunStats, embed_tables
from ddcf.errors import DDCFError
from ddcf.layout import Layout


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="get_question_embeddings.py",
        description="Embed the seed and corpus questions with a sentence-transformer (stage 3).",
    )
    add_workdir_arg(p)
    p.add_argument(
        "--model",
        default="auto",
        help=f"Sentence-transformer: a Hub id, a local folder, or 'auto' = {PAPER_MODEL} (bf16, left padding) on a "
        f"CUDA machine that is online, else the offline packaged all-MiniLM-L6-v2 ({PACKAGED_MINILM}).",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto).")
    p.add_argument(
        "--which", default="seed,corpus", help="Comma-separated tables to embed: seed, corpus (default both)."
    )
    p.add_argument(
        "--batch_size",
        type=int,
        default=None,
        help=f"Texts per forward pass (default: {CPU_BATCH_SIZE} on CPU, where small token-ordered batches are "
        f"fastest, {GPU_BATCH_SIZE} on CUDA).",
    )
    p.add_argument(
        "--shard_size",
        type=int,
        default=2048,
        help="Texts per checkpointed shard; a rerun after an interruption redoes at most one shard (default 2048).",
    )
    p.add_argument(
        "--dtype", default="float32", choices=["float32", "float16"], help="Stored dtype of the .npy files (default float32)."
    )
    p.add_argument(
        "--no_normalize", action="store_true", help="Store raw vectors instead of L2-normalised ones (not recommended)."
    )
    p.add_argument("--overwrite", action="store_true", help="Drop this model's cached shards and embed everything again.")
    p.add_argument("--no_progress", action="store_true", help="Hide progress bars.")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    which = tuple(w.strip() for w in args.which.split(",") if w.strip())
    unknown = [w for w in which if w not in TABLES]
    if unknown or not which:
        raise DDCFError(f"--which {args.which!r} names unknown table(s) {unknown}.", "use seed, corpus or seed,corpus.")
    layout = Layout.from_arg(args.workdir)
    spec = resolve_model(args.model, args.device)
    results = embed_tables(
        layout,
        which=which,
        spec=spec,
        batch_size=args.batch_size,
        shard_size=args.shard_size,
        normalize=not args.no_normalize,
        dtype=args.dtype,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    print(f"\nStage 3 - question embeddings  (model: {spec.name}, device: {spec.device}, "
          f"batch size: {args.batch_size or default_batch_size(spec.device)})")
    print(f"  {'table':8s} {'questions':>10s} {'unique':>8s} {'dim':>5s}  file")
    for r in results:
        print(f"  {r.table:8s} {r.n_questions:10d} {r.n_unique_texts:8d} {r.dim:5d}  {r.path}")
    for line in summary_lines(results[0].stats):
        print("  " + line)
    return 0


def summary_lines(st: RunStats) -> list[str]:
    """The end-of-run speed report (all tables together: they share one embedding pass)."""
    lines = [
        f"questions {st.n_rows}, distinct texts {st.n_unique} (duplicates skipped: {st.duplicates_skipped}), "
        f"cache hits {st.n_cache_hits}, embedded now {st.n_embedded}",
    ]
    if st.n_embedded:
        tok = "" if st.tokens_per_s is None else f", {st.n_tokens} tokens = {st.tokens_per_s:.0f} tokens/s"
        lines.append(f"embedding: {st.embed_seconds:.1f} s, {st.texts_per_s:.1f} texts/s{tok}")
    else:
        lines.append("every text was already in the cache: nothing embedded")
    lines.append(f"wall time {st.wall_seconds:.1f} s (including loading the model, reading the tables and writing the artifacts)")
    return lines
