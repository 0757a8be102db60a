"""A content-addressed, resumable embedding cache.

Vectors are keyed by the SHA-256 of the exact question text, per embedding
model, so identical texts (in the seed set, the corpus, or both) are embedded
once, and a rerun after an interruption only embeds what is missing.  The cache
is a folder of chunks written as work finishes; each chunk is a ``.npy`` of
vectors plus a ``.hashes.parquet`` listing the text hashes of its rows.

Why it is safe to kill, and to run twice at once:

* Every chunk a run writes has a name of its own, ``chunk-<time>-<pid>-<random>``, so two writers never pick
  the same file (the old "next free number" let two runs overwrite each other's chunks).  Numbered chunks
  (``chunk-000000``, ``chunk-900000``) are the shipped demo cache and its installed copy, and are still read.
* The vectors are written first and the hashes file last, each atomically: the hashes file is the commit
  marker, so a ``.npy`` without one is an unfinished write (ignored, and removed once stale), never half a chunk.
  The hashes file also records the vectors' SHA-256 and row count, so a pair that does not belong together is
  recognised.
* A chunk that cannot be read or does not add up is *damaged*: it is moved into ``damaged/`` with a warning
  (:attr:`EmbeddingCache.warnings`) naming it, and its texts are simply missing, so the stage embeds them again.
* Replacing vectors (``--overwrite``) writes the new chunks first and drops the old ones (:meth:`drop`) only
  afterwards; where a text is in several chunks the newest one wins.

This class is the only code that reads or writes chunk files: the stage adds
chunks as it embeds, and the shipped demo cache (``data/bundled/embedding_cache``)
is exported and installed through :meth:`EmbeddingCache.add` and
:meth:`EmbeddingCache.import_from`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

from ddcf.errors import first_line
from ddcf.io import array_sha256, is_stale, read_parquet_metadata, remove_stale_temps, write_npy, write_parquet
from ddcf.names import safe_name

#: a chunk's key: an int for a numbered (shipped or installed) chunk, the unique token of one a run wrote
ChunkKey = Union[int, str]
_NAME = r"chunk-(\d{6}|[0-9a-f]{16}-\d+-[0-9a-f]{8})"
_HASHES = re.compile(rf"^{_NAME}\.hashes\.parquet$")
_VECTORS = re.compile(rf"^{_NAME}\.npy$")
DAMAGED_DIR = "damaged"


def _key(stem: str) -> ChunkKey:
    return int(stem) if stem.isdigit() else stem


def _order(key: ChunkKey) -> tuple:
    # Numbered chunks first, then written chunks by their time prefix: later chunks win a duplicated text.
    return (0, key, "") if isinstance(key, int) else (1, 0, key)


def _writer_pid(key: ChunkKey) -> int | None:
    return int(key.split("-")[1]) if isinstance(key, str) else None


def new_chunk_key() -> str:
    """A name no other writer can pick: time (ns, so names sort by age), this process's id, and 32 random bits."""
    return f"{time.time_ns():016x}-{os.getpid()}-{secrets.token_hex(4)}"


class EmbeddingCache:
    """The chunks of one model under ``root``.

    ``quarantine=False`` opens a cache read-only (the shipped one inside the repository): damaged chunks are
    then skipped with a warning instead of moved, and no stale leftovers are removed.
    """

    def __init__(self, root: Path, model_name: str, quarantine: bool = True):
        self.dir = Path(root) / safe_name(model_name)
        self.model_name = model_name
        self.quarantine = quarantine
        #: one line per damaged chunk found (set aside, its texts to be embedded again); the stage reports them
        self.warnings: list[str] = []
        self._index: dict[str, tuple[ChunkKey, int]] = {}
        self._chunks: dict[ChunkKey, np.ndarray] = {}
        self._hashes: dict[ChunkKey, list[str]] = {}
        self.dim: int | None = None
        self._load_index()

    @staticmethod
    def models(root: Path) -> list[str]:
        """Names of the models that have a cache under ``root`` (each chunk records its model)."""
        names = set()
        for model_dir in sorted(p for p in Path(root).iterdir() if p.is_dir()) if Path(root).is_dir() else []:
            for hashes in sorted(model_dir.glob("chunk-*.hashes.parquet")):
                try:
                    name = read_parquet_metadata(hashes).get("model")
                except Exception:  # noqa: BLE001 - a damaged chunk says nothing; opening the cache reports it
                    continue
                if name and safe_name(name) == model_dir.name:
                    names.add(name)
                    break
        return sorted(names)

    def _chunk_paths(self, key: ChunkKey) -> tuple[Path, Path]:
        stem = f"chunk-{key:06d}" if isinstance(key, int) else f"chunk-{key}"
        return self.dir / f"{stem}.npy", self.dir / f"{stem}.hashes.parquet"

    def _load_index(self) -> None:
        if not self.dir.is_dir():
            return
        names = {p.name for p in self.dir.iterdir()}
        if self.quarantine:
            self._remove_leftovers(names)
        keys = sorted((_key(m.group(1)) for m in map(_HASHES.match, names) if m), key=_order)
        for key in keys:
            self._load_chunk(key)

    def _remove_leftovers(self, names: set[str]) -> None:
        """Temp files of killed chunk writes, and vectors whose hashes file never came (their writer died)."""
        remove_stale_temps(self.dir)
        for m in filter(None, map(_VECTORS.match, names)):
            key = _key(m.group(1))
            npy, hpath = self._chunk_paths(key)
            if not hpath.exists() and is_stale(npy, _writer_pid(key)):
                with contextlib.suppress(FileNotFoundError):
                    npy.unlink()

    def _load_chunk(self, key: ChunkKey) -> None:
        import pyarrow.parquet as pq

        npy, hpath = self._chunk_paths(key)
        try:
            table = pq.read_table(hpath)
            meta = json.loads((table.schema.metadata or {}).get(b"ddcf", b"{}"))
            hashes = table.column("text_sha256").to_pylist()
        except FileNotFoundError:
            return  # dropped by a concurrent --overwrite while we listed the folder
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, the chunk cannot be used
            return self._damaged(key, f"its hashes file cannot be read: {type(exc).__name__}: {first_line(exc)}")
        if meta.get("model") not in (None, self.model_name):
            return  # another model whose name maps to the same folder: not ours to use or to move
        try:
            arr = np.load(npy, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            if hpath.exists():  # (a concurrent drop removes the hashes file first)
                self._damaged(key, "its vectors file is missing")
            return
        except Exception as exc:  # noqa: BLE001 - truncated, garbage, wrong format version, ...
            return self._damaged(key, f"its vectors file cannot be read: {type(exc).__name__}: {first_line(exc)}")
        problem = self._check(arr, hashes, meta)
        if problem:
            return self._damaged(key, problem, len(hashes))
        self._register(key, hashes, arr)

    def _check(self, arr: np.ndarray, hashes: list, meta: dict) -> str | None:
        if arr.ndim != 2 or arr.dtype not in (np.float16, np.float32):
            return f"its vectors have shape {arr.shape} and dtype {arr.dtype}, not a float matrix"
        if arr.shape[0] != len(hashes) or meta.get("n", len(hashes)) != len(hashes):
            return f"its vectors file has {arr.shape[0]} rows but its hashes file lists {len(hashes)} texts"
        if self.dim is not None and arr.shape[1] != self.dim:
            return f"its vectors have {arr.shape[1]} dimensions, the other chunks {self.dim}"
        if "vectors_sha256" in meta and array_sha256(arr) != meta["vectors_sha256"]:
            return "its vectors do not match the SHA-256 its hashes file records"
        return None

    def _damaged(self, key: ChunkKey, why: str, n_texts: int | None = None) -> None:
        npy, hpath = self._chunk_paths(key)
        texts = "its texts" if n_texts is None else f"its {n_texts} texts"
        if self.quarantine:
            dest = self.dir / DAMAGED_DIR
            dest.mkdir(exist_ok=True)
            tag = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"  # never over an earlier one
            for p in (hpath, npy):
                with contextlib.suppress(FileNotFoundError):  # a concurrent run may have moved it already
                    os.replace(p, dest / f"{p.name}.{tag}")
            action = f"moved to {dest}; {texts} will be embedded again"
        else:
            action = f"skipped; {texts} will be embedded instead"
        self.warnings.append(f"embedding-cache chunk {npy.name} of {self.model_name} in {self.dir} is damaged "
                             f"({why}): {action}.")

    def _register(self, key: ChunkKey, hashes: list[str], arr: np.ndarray) -> None:
        self._chunks[key] = arr
        self._hashes[key] = hashes
        self.dim = int(arr.shape[1])
        for row, h in enumerate(hashes):
            self._index[h] = (key, row)

    def __contains__(self, text_hash: str) -> bool:
        return text_hash in self._index

    def __len__(self) -> int:
        return len(self._index)

    def keys(self) -> list[ChunkKey]:
        """The complete chunks, oldest first."""
        return sorted(self._chunks, key=_order)

    def add(self, hashes: list[str], vectors: np.ndarray, chunk: int | None = None) -> ChunkKey:
        """Write one chunk and return its key: a new unique name, or the number ``chunk`` (the shipped cache).

        Vectors are stored as float32, or as float16 when given float16 (the shipped cache is float16
        to stay small); :meth:`gather` returns float32 either way.
        """
        key: ChunkKey = new_chunk_key() if chunk is None else int(chunk)
        if key in self._chunks:
            raise ValueError(f"chunk {key} already exists in {self.dir}")
        dtype = np.float16 if np.asarray(vectors).dtype == np.float16 else np.float32
        vectors = np.ascontiguousarray(vectors, dtype=dtype)
        if vectors.ndim != 2 or vectors.shape[0] != len(hashes):
            raise ValueError(f"{vectors.shape} vectors for {len(hashes)} hashes")
        if self.dim is not None and vectors.shape[1] != self.dim:
            raise ValueError(f"{vectors.shape[1]}-dim vectors for a cache of {self.dim}-dim ones")
        npy, hpath = self._chunk_paths(key)
        if isinstance(key, int):  # a numbered chunk may exist on disk: un-commit it before replacing its vectors
            with contextlib.suppress(FileNotFoundError):
                hpath.unlink()
        write_npy(vectors, npy)
        meta = {"model": self.model_name, "n": len(hashes), "vectors_sha256": array_sha256(vectors)}
        write_parquet(pd.DataFrame({"text_sha256": list(hashes)}), hpath, metadata=meta)  # last: the commit
        self._register(key, list(hashes), np.load(npy, mmap_mode="r", allow_pickle=False))
        return key

    def import_from(self, other: "EmbeddingCache", first_chunk: int = 0) -> int:
        """Copy ``other``'s chunks in, its ``i``-th chunk (oldest first) becoming number ``first_chunk + i``; a
        chunk already present is kept (so importing twice copies nothing).  Returns how many of ``other``'s
        vectors are now here."""
        if other.model_name != self.model_name:
            raise ValueError(f"cannot import vectors of {other.model_name!r} into the cache of {self.model_name!r}")
        n = 0
        for i, (_, hashes, vectors) in enumerate(other.chunks()):
            if first_chunk + i not in self._chunks:
                self.add(hashes, vectors, chunk=first_chunk + i)
            n += len(hashes)
        return n

    def chunks(self):
        """``(key, text hashes, vectors)`` of every complete chunk, oldest first."""
        for k in self.keys():
            yield k, self._hashes[k], self._chunks[k]

    def drop(self, keys) -> None:
        """Delete these chunks (``--overwrite``, once their replacements are written).

        The hashes file goes first: a kill in between leaves vectors without hashes, an unfinished chunk.
        """
        for key in keys:
            for p in reversed(self._chunk_paths(key)):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
            self._chunks.pop(key, None)
            self._hashes.pop(key, None)
        self._index.clear()
        for key in self.keys():
            for row, h in enumerate(self._hashes[key]):
                self._index[h] = (key, row)
        if not self._chunks:
            self.dim = None

    def clear(self) -> None:
        """Drop every vector of this model (re-exporting the shipped cache)."""
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
        order = {k: i for i, k in enumerate(self._chunks)}
        keys = list(self._chunks)
        loc = np.array([(order[k], row) for k, row in (self._index[h] for h in hashes)], dtype=np.int64).reshape(-1, 2)
        for n in np.unique(loc[:, 0]):
            sel = np.nonzero(loc[:, 0] == n)[0]
            out[sel] = self._chunks[keys[int(n)]][loc[sel, 1]]
        return out
