"""Stage 3 logic: embed the seed and corpus question tables.

Texts are de-duplicated by content hash, sorted by token count, longest first
(so each batch pads little), embedded in shards that land in an :class:`EmbeddingCache` as they
finish, and finally assembled into one ``.npy`` per table with a manifest and
an id list.  Interrupt it at any point and rerun: finished shards are reused.  A
shard is flushed after ``shard_size`` texts or ``shard_seconds`` of embedding,
whichever comes first, so a kill loses little work; ``overwrite`` drops the old
vectors only after the new ones are in the cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.artifacts.corpus import read_corpus
from ddcf.artifacts.seed import read_seed
from ddcf.embed.batching import default_batch_size, encode_in_batches, order_by_tokens, plan_texts, token_lengths
from ddcf.embed.cache import EmbeddingCache
from ddcf.embed.config import SHARD_SECONDS, SHARD_SIZE, TABLES, EmbedConfig
from ddcf.embed.models import EmbeddingModelSpec, load_sentence_transformer, resolve_model
from ddcf.embed.sharded import embed_with_executor
from ddcf.errors import DDCFError
from ddcf.io import ids_path, manifest_path, save_embeddings, text_hash
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.runtime import progress as progress_bar


@dataclass
class EmbedResult:
    table: str
    n_questions: int
    n_unique_texts: int
    n_embedded_now: int  # run-wide (all tables share one pass), as are the fields below
    seconds: float
    path: Path
    dim: int = 0
    rate: float = 0.0  # texts/s of the texts embedded now
    extra: dict = field(default_factory=dict)
    stats: "RunStats | None" = None


@dataclass
class RunStats:
    """What one call of :func:`embed_tables` did, over all requested tables together."""

    n_rows: int  # question rows of all tables
    n_unique: int  # distinct texts among them
    n_cache_hits: int  # distinct texts already in the cache
    n_embedded: int  # distinct texts embedded now
    n_tokens: int | None  # tokens fed to the model (after truncation); None if the encoder has no tokenizer
    embed_seconds: float  # time inside the embedding loop
    wall_seconds: float = 0.0  # the whole call: reading tables, embedding, writing artifacts
    warnings: list[str] = field(default_factory=list)  # damaged cache chunks set aside
    executor_lines: list[str] = field(default_factory=list)  # --executor ray: shards and per-node throughput

    @property
    def duplicates_skipped(self) -> int:
        return self.n_rows - self.n_unique

    @property
    def texts_per_s(self) -> float:
        return self.n_embedded / self.embed_seconds if self.n_embedded and self.embed_seconds > 0 else 0.0

    @property
    def tokens_per_s(self) -> float | None:
        if self.n_tokens is None:
            return None
        return self.n_tokens / self.embed_seconds if self.n_embedded and self.embed_seconds > 0 else 0.0


def _question_table(layout: Layout, which: str) -> tuple[pd.DataFrame, Path]:
    columns = ("question_id", "question")  # only the texts to embed: a corpus's responses are never read here
    if which == "seed":
        fix = ("run infer.py (or create_training_data.py --correctness_table ...) first to create the seed question "
               "table.")
        return read_seed(layout, columns=columns, fix=fix, check_blank=True), layout.seed_questions
    return read_corpus(layout, columns=columns, check_blank=True), layout.corpus_questions


def embed_tables(
    layout: Layout,
    which: tuple[str, ...] = TABLES,
    embedding_model: str = "auto",
    device: str = "auto",
    batch_size: int | None = None,
    shard_size: int = SHARD_SIZE,
    shard_seconds: float = SHARD_SECONDS,
    normalize: bool = True,
    dtype: str = "float32",
    overwrite: bool = False,
    progress: bool = True,
    spec: EmbeddingModelSpec | None = None,
    encoder=None,
    executor=None,
) -> list[EmbedResult]:
    """Embed the requested question tables; returns one result per table.

    The keyword arguments are :class:`EmbedConfig`'s options.  ``spec`` (a resolved model) and
    ``encoder`` (a loaded SentenceTransformer-like object) may be passed to reuse a model across
    calls; otherwise it is loaded lazily, only if something is missing from the cache.  ``executor`` (a
    ``ddcf.executors`` executor other than local) embeds the shards on its workers instead of here.
    """
    # The option rules (ranges, choices) live in the config class only; a library caller gets the same errors.
    EmbedConfig(embedding_model=embedding_model, device=device, which=list(which), batch_size=batch_size,
                shard_size=shard_size, shard_seconds=shard_seconds, dtype=dtype, no_normalize=not normalize,
                overwrite=overwrite).validate()
    wall0 = time.perf_counter()
    spec = spec or resolve_model(embedding_model, device)
    batch_size = batch_size or default_batch_size(spec.device)
    tables = {w: _question_table(layout, w) for w in which}

    cache = EmbeddingCache(layout.embedding_shards, spec.name)
    # --overwrite recomputes into new chunks and drops these only at the end: killed half way, it leaves the old
    # vectors usable (the newest chunk wins where a text is in both).
    replaced = cache.keys() if overwrite else []

    # One pass over all unique texts of all tables, longest first: similar lengths share a batch.
    texts = (t for df, _ in tables.values() for t in df["question"].astype(str))
    todo, n_rows, n_unique = plan_texts(texts, () if overwrite else cache)

    if todo:
        encoder = encoder or load_sentence_transformer(spec)
    # The clock starts after the model is loaded: texts/s and tokens/s describe the embedding itself.
    embedded_now, n_tokens, t0 = 0, 0, time.perf_counter()
    executor_lines: list[str] = []
    if todo:
        # Tokenizing everything once costs ~1% of the model time and buys batches with little padding
        # (see order_by_tokens) plus an exact tokens/s figure.
        lengths = token_lengths(encoder, [t for _, t in todo])
        todo = order_by_tokens(todo, lengths)
        n_tokens = None if lengths is None else int(lengths.sum())
        if executor is not None and executor.name != "local":  # the same shards, on the executor's workers
            embedded_now, cache, job_summary = embed_with_executor(
                executor, layout.embedding_shards, spec, todo, batch_size, shard_size, normalize, progress)
            executor_lines = job_summary.lines("q")
        else:
            bar = progress_bar(total=len(todo), desc=f"embedding ({spec.name.split('/')[-1]}, {spec.device})",
                               unit="q", enabled=progress, smoothing=0.1)
            embedded_now = _embed_into_cache(cache, encoder, todo, spec.name, batch_size, shard_size,
                                             shard_seconds, normalize, bar.update)
            bar.close()
    if replaced:
        cache.drop(replaced)
    elapsed = time.perf_counter() - t0
    stats = RunStats(
        n_rows=n_rows,
        n_unique=n_unique,
        n_cache_hits=n_unique - len(todo),
        n_embedded=embedded_now,
        n_tokens=n_tokens if todo else 0,
        embed_seconds=elapsed,
        warnings=list(cache.warnings),
        executor_lines=executor_lines,
    )

    results = []
    for w, (df, source) in tables.items():
        hashes = [text_hash(t) for t in df["question"].astype(str)]
        arr = cache.gather(hashes)
        if dtype == "float16":
            arr = arr.astype(np.float16)
        out = layout.seed_embeddings if w == "seed" else layout.corpus_embeddings
        manifest = {
            "embedding_model": spec.name,
            "normalized": bool(normalize),
            "table": w,
            "source_table": str(source.relative_to(layout.root)),
            "produced_by": "get_question_embeddings.py",
        }
        save_embeddings(arr, df["question_id"].astype(str).tolist(), out, manifest)
        results.append(
            EmbedResult(
                table=w,
                n_questions=len(df),
                n_unique_texts=len(set(hashes)),
                n_embedded_now=embedded_now,
                seconds=elapsed,
                path=out,
                dim=int(arr.shape[1]),
                rate=stats.texts_per_s,
                stats=stats,
            )
        )
    stats.wall_seconds = time.perf_counter() - wall0
    return results


def _embed_into_cache(cache: EmbeddingCache, encoder, todo: list[tuple[str, str]], model: str, batch_size: int,
                      shard_size: int, shard_seconds: float, normalize: bool, on_batch) -> int:
    """Embed ``todo`` batch by batch, writing a cache chunk after ``shard_size`` texts or ``shard_seconds``,
    whichever comes first (and at the end); returns how many texts were embedded."""
    hashes: list[str] = []
    vectors: list[np.ndarray] = []
    since = time.perf_counter()
    done = start = 0
    while start < len(todo):
        # A batch never crosses a shard boundary, so a shard holds at most shard_size texts.
        batch = todo[start : start + min(batch_size, shard_size - len(hashes))]
        vecs = encode_in_batches(encoder, [t for _, t in batch], batch_size, normalize, on_batch=on_batch)
        if not np.isfinite(vecs).all():
            raise DDCFError(
                f"The embedding model {model} produced NaN/inf vectors for the batch starting at text #{start}.",
                "use float32 (--device cpu) or another model; bf16/fp16 overflow is the usual cause.",
            )
        hashes += [h for h, _ in batch]
        vectors.append(vecs)
        start += len(batch)
        if len(hashes) >= shard_size or time.perf_counter() - since >= shard_seconds or start >= len(todo):
            cache.add(hashes, np.concatenate(vectors))
            done += len(hashes)
            hashes, vectors, since = [], [], time.perf_counter()
    return done


def run(layout: Layout, config: EmbedConfig) -> Report:
    spec = resolve_model(config.embedding_model, config.device)
    results = embed_tables(
        layout,
        which=tuple(config.which),
        spec=spec,
        batch_size=config.batch_size,
        shard_size=config.shard_size,
        shard_seconds=config.shard_seconds,
        normalize=not config.no_normalize,
        dtype=config.dtype,
        overwrite=config.overwrite,
        progress=config.progress,
        executor=config.executor_for() if config.executor != "local" else None,
    )
    lines = [
        f"Stage 3 - question embeddings  (model: {spec.name}, device: {spec.device}, "
        f"batch size: {config.batch_size or default_batch_size(spec.device)})",
        f"  {'table':8s} {'questions':>10s} {'unique':>8s} {'dim':>5s}  file",
    ]
    lines += [f"  {r.table:8s} {r.n_questions:10d} {r.n_unique_texts:8d} {r.dim:5d}  {r.path}" for r in results]
    lines += ["  " + line for line in summary_lines(results[0].stats)]
    return Report(
        stage="embed",
        summary="\n".join(lines),
        files=[f for r in results for f in (r.path, manifest_path(r.path), ids_path(r.path))],
        warnings=results[0].stats.warnings,
        config_dir=layout.embeddings_dir,
        details={"results": results, "stats": results[0].stats, "embedding_model": spec.name, "device": spec.device},
        seconds=results[0].stats.wall_seconds,
    )


def summary_lines(st: RunStats) -> list[str]:
    """The end-of-run speed report (all tables together: they share one embedding pass)."""
    lines = [
        f"questions {st.n_rows}, distinct texts {st.n_unique} (duplicates skipped: {st.duplicates_skipped}), "
        f"cache hits {st.n_cache_hits}, embedded now {st.n_embedded}",
    ]
    if st.n_embedded:
        tok = "" if st.tokens_per_s is None else f", {st.n_tokens} tokens = {st.tokens_per_s:.0f} tokens/s"
        lines.append(f"embedding: {st.embed_seconds:.1f} s, {st.texts_per_s:.1f} texts/s{tok}")
        lines += st.executor_lines
    else:
        lines.append("every text was already in the cache: nothing embedded")
    lines.append(f"wall time {st.wall_seconds:.1f} s (including loading the model, reading the tables and "
                 "writing the artifacts)")
    return lines
