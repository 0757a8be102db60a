"""Stage 3's question embeddings: ``DDCF_data/embeddings/{seed,corpus}.npy`` (+ ``.ids.parquet`` and a
``.json`` manifest), and stage 5's optional ``factorized_data/question_embeddings.npy``.

The three files of one matrix are written by :func:`write_embeddings` (vectors, ids, then the manifest with
hashes of both) and read back, checked to belong together, by :func:`read_embeddings`.  The file format itself
(atomic writes, hashes, memory mapping) is :func:`ddcf.io.save_embeddings` / :func:`ddcf.io.load_embeddings`;
this module names the files and the standard messages.  :func:`unit_rows` is the one row normalisation of an
embedding matrix (cosine similarities are dot products of unit rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ddcf.io import align_embeddings, load_embeddings, manifest_path, save_embeddings
from ddcf.layout import Layout

WHICH = ("seed", "corpus", "factorized")
#: keys every manifest has (ddcf.io.save_embeddings adds them); the stage adds embedding_model, normalized, ...
MANIFEST_KEYS = ("n", "dim", "dtype", "question_ids_sha256", "vectors_sha256", "npy", "ids")


def path(layout: Layout, which: str) -> Path:
    return {"seed": layout.seed_embeddings, "corpus": layout.corpus_embeddings,
            "factorized": layout.factorized_embeddings}[which]


def manifest(layout: Layout, which: str) -> Path:
    return manifest_path(path(layout, which))


def read_embeddings(layout: Layout, which: str, mmap: bool = True, verify_hash: bool | None = None
                    ) -> tuple[np.ndarray, list[str], dict]:
    """(vectors, their question ids, manifest) of the ``which`` embeddings, checked to belong together."""
    return load_embeddings(path(layout, which), f"{which} embeddings", mmap=mmap, verify_hash=verify_hash)


def rows_for(layout: Layout, which: str, arr: np.ndarray, emb_ids: Sequence[str], wanted: Sequence[str]
             ) -> np.ndarray:
    """The rows of ``arr`` for the ``wanted`` question ids (joined by id, never by position)."""
    return align_embeddings(arr, emb_ids, wanted, f"{which} embeddings", path(layout, which))


def write_embeddings(layout: Layout, which: str, arr: np.ndarray, question_ids: Sequence[str], info: dict) -> Path:
    return save_embeddings(arr, question_ids, path(layout, which), info)


def unit_rows(x, rows: np.ndarray | None = None, dtype=np.float64, norm_dtype=None,
              floor: float | None = None) -> np.ndarray:
    """L2-normalised rows of ``x`` (all, or ``rows``) as ``dtype``, copied out of a memory map: the one row
    normalisation of ddcf.

    ``norm_dtype``: compute the norms in this precision and round them to ``dtype`` (the selection report's float32
    statistics take float64 norms); default ``dtype``.  ``floor``: divide by ``max(norm, floor)`` (the predictor
    baselines' ``1e-12``); default: zero rows stay zero and every other row is divided by its norm.  Both only
    exist so each caller keeps the exact numbers it had; a zero row gives zeros either way.
    """
    v = np.asarray(x if rows is None else x[rows], dtype=dtype)
    norm = np.linalg.norm(v if norm_dtype is None else v.astype(norm_dtype), axis=1, keepdims=True).astype(
        v.dtype, copy=False)
    if floor is not None:
        return v / np.maximum(norm, floor)
    return v / np.where(norm > 0, norm, np.asarray(1.0, dtype=v.dtype))
