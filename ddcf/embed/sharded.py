"""Stage 3 (question embeddings) as a shard job.

The local path embeds the missing texts, longest first by tokens, into cache chunks of ``--shard_size`` texts
(``ddcf/embed/stage.py``).  Here the same ordered list is cut into the same blocks of ``--shard_size`` texts,
one shard each; a worker embeds its block in batches of ``--batch_size`` from the block's start (the local
path's batches, so the vectors are byte-identical) and adds it to the same content-addressed cache as one
chunk.  The cache is the resume marker both paths share: a rerun plans only the texts no chunk holds yet, and
because finished blocks are whole blocks, the unfinished ones are cut exactly as before.

A shard's own marker (``.shard_markers/<model>/<key>.json``, naming the chunk it wrote) only stops a retried
shard from embedding again when its worker died after the chunk was written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ddcf.embed.batching import encode_in_batches
from ddcf.embed.cache import EmbeddingCache
from ddcf.embed.models import EmbeddingModelSpec, load_sentence_transformer
from ddcf.errors import DDCFError
from ddcf.executors.base import Executor, Shard, ShardJob
from ddcf.io import read_json_or_none, write_json
from ddcf.names import safe_name

MARKERS = ".shard_markers"


def blocks(todo: list[tuple[str, str]], shard_size: int) -> list[list[tuple[str, str]]]:
    """The local path's shards: consecutive blocks of ``shard_size`` of the ordered to-do list."""
    return [todo[i : i + shard_size] for i in range(0, len(todo), shard_size)]


def shard_key(hashes: list[str]) -> str:
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:32]


@dataclass
class EmbedJob(ShardJob):
    spec: EmbeddingModelSpec
    cache_root: Path
    todo_blocks: list
    batch_size: int
    normalize: bool
    name = "embedding"
    unit = "q"

    def shards(self) -> list[Shard]:
        return [Shard(i, len(b), b) for i, b in enumerate(self.todo_blocks)]

    @property
    def marker_dir(self) -> Path:
        return Path(self.cache_root) / MARKERS / safe_name(self.spec.name)

    def marker(self, shard: Shard) -> Path:
        return self.marker_dir / f"{shard_key([h for h, _ in shard.payload])}.json"

    def is_done(self, shard: Shard) -> bool:
        # Done = its marker names a chunk that is still in the cache (a damaged chunk set aside is not done).
        marker = read_json_or_none(self.marker(shard))
        chunk = marker.get("chunk") if isinstance(marker, dict) else None
        if chunk is None:
            return False
        return (Path(self.cache_root) / safe_name(self.spec.name) / f"chunk-{chunk}.hashes.parquet").exists()

    def resources(self) -> dict:
        return {"num_cpus": 1, "num_gpus": 1} if self.spec.device.startswith("cuda") else {"num_cpus": 1}

    def open(self):
        spec = self.spec
        if spec.device.startswith("cuda:"):  # Ray gives each worker its GPU(s) as CUDA_VISIBLE_DEVICES
            spec = replace(spec, device="cuda")
        return load_sentence_transformer(spec), EmbeddingCache(self.cache_root, self.spec.name)

    def run_shard(self, state, shard: Shard) -> None:
        encoder, cache = state
        texts = [t for _, t in shard.payload]
        vecs = encode_in_batches(encoder, texts, self.batch_size, self.normalize)
        if not np.isfinite(vecs).all():
            raise DDCFError(
                f"The embedding model {self.spec.name} produced NaN/inf vectors in shard {shard.index}.",
                "use float32 (--device cpu) or another model; bf16/fp16 overflow is the usual cause.",
            )
        key = cache.add([h for h, _ in shard.payload], vecs)  # the chunk's hashes file is its commit
        write_json({"chunk": key, "n": len(texts)}, self.marker(shard))


def embed_with_executor(executor: Executor, cache_root: Path, spec: EmbeddingModelSpec,
                        todo: list[tuple[str, str]], batch_size: int, shard_size: int, normalize: bool,
                        progress: bool = True):
    """Embed the ordered ``todo`` into the cache under ``cache_root`` on ``executor``; returns
    ``(texts embedded, the cache reopened with the new chunks, the executor's summary)``."""
    job = EmbedJob(spec, Path(cache_root), blocks(todo, shard_size), batch_size, normalize)
    summary = executor.run(job, progress=progress)
    cache = EmbeddingCache(cache_root, spec.name)
    return sum(s.size for s in summary.stats if not s.skipped), cache, summary
