"""A content-addressed, resumable embedding cache.

Vectors are keyed by the SHA-256 of the exact question text, per embedding
model, so identical texts (in the seed set, the corpus, or both) are embedded
once, and a rerun after an interruption only embeds what is missing.  The cache
is a folder of chunks written as work finishes; each chunk is a ``.npy`` of
vectors plus a ``.hashes.parquet`` listing the text hashes of its rows.  The
hashes file is written last, so a chunk without one is an interrupted write
and is ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.io import write_npy, write_parquet
from ddcf.names import safe_name

_CHUNK = re.compile(r"^chunk-(\d{6})\.hashes\.parquet$")


class EmbeddingCache:
    def __init__(self, root: Path, model_name: str):
        self.dir = Path(root) / safe_name(model_name)
        self.model_name = model_name
        self._index: dict[str, tuple[int, int]] = {}
        self._chunks: dict[int, np.ndarray] = {}
        self.dim: int | None = None
        self._load_index()

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
            self._chunks[n] = arr
            self.dim = int(arr.shape[1])
            for row, h in enumerate(hashes):
                self._index[h] = (n, row)

    def __contains__(self, text_hash: str) -> bool:
        return text_hash in self._index

    def __len__(self) -> int:
        return len(self._index)

    def add(self, hashes: list[str], vectors: np.ndarray) -> None:
        n = max(self._chunks, default=-1) + 1
        npy, hpath = self._chunk_paths(n)
        write_npy(np.ascontiguousarray(vectors, dtype=np.float32), npy)
        write_parquet(pd.DataFrame({"text_sha256": hashes}), hpath, metadata={"model": self.model_name})
        self._chunks[n] = np.load(npy, mmap_mode="r", allow_pickle=False)
        self.dim = int(vectors.shape[1])
        for row, h in enumerate(hashes):
            self._index[h] = (n, row)

    def gather(self, hashes: list[str], out: np.ndarray | None = None) -> np.ndarray:
        """Rows for ``hashes`` in order (all must be cached)."""
        if self.dim is None:
            raise RuntimeError("empty cache")
        out = np.empty((len(hashes), self.dim), dtype=np.float32) if out is None else out
        # Group by chunk so each chunk is read with one fancy-index.
        loc = np.array([self._index[h] for h in hashes], dtype=np.int64).reshape(-1, 2)
        for n in np.unique(loc[:, 0]):
            sel = np.nonzero(loc[:, 0] == n)[0]
            out[sel] = self._chunks[int(n)][loc[sel, 1]]
        return out
