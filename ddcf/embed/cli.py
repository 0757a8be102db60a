"""Command line of stage 3 (get_question_embeddings.py)."""

from __future__ import annotations

import argparse

from ddcf.cli import add_workdir_arg
from ddcf.embed.models import PACKAGED_MINILM, PAPER_MODEL, resolve_model
from ddcf.embed.stage import TABLES, embed_tables
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
    p.add_argument("--batch_size", type=int, default=64, help="Texts per forward pass (default 64).")
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
    print(f"\nStage 3 - question embeddings  (model: {spec.name}, device: {spec.device})")
    print(f"  {'table':8s} {'questions':>10s} {'unique':>8s} {'dim':>5s}  file")
    for r in results:
        print(f"  {r.table:8s} {r.n_questions:10d} {r.n_unique_texts:8d} {r.dim:5d}  {r.path}")
    r0 = results[0]
    if r0.n_embedded_now:
        print(f"  embedded {r0.n_embedded_now} new texts in {r0.seconds:.1f} s ({r0.rate:.1f} texts/s); the rest came from the cache")
    else:
        print("  every text was already in the cache: nothing embedded")
    return 0
