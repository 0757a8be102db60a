"""A content-addressed, resumable embedding cache.

Vectors are keyed by the SHA-256 of the exact question text, per embedding
model, so identical texts (in the seed set, the corpus, or both) are embedded
once, and a rerun after an interruption only embeds what is missing.  The cache
is a folder of chunks written as work finishes; each chunk is a ``.npy`` of
vectors plus a ``.hashes.parquet`` listing the text hashes of its rows.  The
hashes file is written last, so a chunk without one is an interrupted write
and is ignored.

This class is the only code that reads or writes chunk files: the stage adds
chunks as it embeds, and the shipped demo cache (``data/bundled/embedding_cache``)
is exported and installed through :meth:`EmbeddingCache.add` and
:meth:`EmbeddingCache.import_from`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.io import read_parquet_metadata, write_npy, write_parquet
from ddcf.names import safe_name

_CHUNK = re.compile(r"^chunk-(\d{6})\.hashes\.parquet$")


class EmbeddingCache:
    def __init__(self, root: Path, model_name: str):
        self.dir = Path(root) / safe_name(model_name)
        self.model_name = model_name
        self._index: dict[str, tuple[int, int]] = {}
        self._chunks: dict[int, np.ndarray] = {}
        self._hashes: dict[int, list[str]] = {}
        self.dim: int | None = None
        self._load_index()

    @staticmethod
    def models(root: Path) -> list[str]:
        """Names of the models that have a cache under ``root`` (each chunk records its model)."""
        names = set()
        for model_dir in sorted(p for p in Path(root).iterdir() if p.is_dir()) if Path(root).is_dir() else []:
            for hashes in sorted(model_dir.glob("chunk-*.hashes.parquet")):
                name = read_parquet_metadata(hashes).get("model")
                if name and safe_name(name) == model_dir.name:
                    names.add(name)
                    break
        return sorted(names)

    def _chunk_paths(self, n: int) -> tuple[Path, Path]:
        return self.dir / f"chunk-{n:06d}.npy", self.dir / f"chunk-{n:06d}.hashes.parquet"

    def _load_index(self) -> None:
        if not self.dir.is_dir():
            return
        for p in sorted(self.dir.iterdir()):
            m = _CHUNK.match(p.name)
            if not m:
                continue
            n = int(m.group(1))
            npy, _ = self._chunk_paths(n)
            if not npy.exists():
                continue
            hashes = pd.read_parquet(p)["text_sha256"].tolist()
            arr = np.load(npy, mmap_mode="r", allow_pickle=False)
            if arr.shape[0] != len(hashes):
                continue  # a torn chunk from a crash between the two writes: recompute it
            self._register(n, hashes, arr)

    def _register(self, n: int, hashes: list[str], arr: np.ndarray) -> None:
        self._chunks[n] = arr
        self._hashes[n] = hashes
        self.dim = int(arr.shape[1])
        for row, h in enumerate(hashes):
            self._index[h] = (n, row)

    def __contains__(self, text_hash: str) -> bool:
        return text_hash in self._index

    def __len__(self) -> int:
        return len(self._index)

    def add(self, hashes: list[str], vectors: np.ndarray, chunk: int | None = None) -> int:
        """Write one chunk (the next free number unless ``chunk`` is given); returns its number.

        Vectors are stored as float32, or as float16 when given float16 (the shipped cache is float16
        to stay small); :meth:`gather` returns float32 either way.
        """
        n = max(self._chunks, default=-1) + 1 if chunk is None else int(chunk)
        if n in self._chunks:
            raise ValueError(f"chunk {n} already exists in {self.dir}")
        npy, hpath = self._chunk_paths(n)
        dtype = np.float16 if np.asarray(vectors).dtype == np.float16 else np.float32
        write_npy(np.ascontiguousarray(vectors, dtype=dtype), npy)
        write_parquet(pd.DataFrame({"text_sha256": hashes}), hpath, metadata={"model": self.model_name})
        self._register(n, list(hashes), np.load(npy, mmap_mode="r", allow_pickle=False))
        return n

    def import_from(self, other: "EmbeddingCache", first_chunk: int = 0) -> int:
        """Copy ``other``'s chunks in, chunk ``k`` becoming ``first_chunk + k``; a chunk already present is
        kept (so importing twice copies nothing).  Returns how many of ``other``'s vectors are now here."""
        if other.model_name != self.model_name:
            raise ValueError(f"cannot import vectors of {other.model_name!r} into the cache of {self.model_name!r}")
        n = 0
        for k, hashes, vectors in other.chunks():
            if first_chunk + k not in self._chunks:
                self.add(hashes, vectors, chunk=first_chunk + k)
            n += len(hashes)
        return n

    def chunks(self):
        """``(number, text hashes, vectors)`` of every complete chunk, in number order."""
        for k in sorted(self._chunks):
            yield k, self._hashes[k], self._chunks[k]

    def clear(self) -> None:
        """Drop every vector of this model (``--overwrite``)."""
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self._index.clear()
        self._chunks.clear()
        self._hashes.clear()
        self.dim = None

    def gather(self, hashes: list[str], out: np.ndarray | None = None) -> np.ndarray:
        """Rows for ``hashes`` in order (all must be cached), as float32."""
        if self.dim is None:
            raise RuntimeError("empty cache")
        out = np.empty((len(hashes), self.dim), dtype=np.float32) if out is None else out
        # Group by chunk so each chunk is read with one fancy-index.
        loc = np.array([self._index[h] for h in hashes], dtype=np.int64).reshape(-1, 2)
        for n in np.unique(loc[:, 0]):
            sel = np.nonzero(loc[:, 0] == n)[0]
            out[sel] = self._chunks[int(n)][loc[sel, 1]]
        return out
