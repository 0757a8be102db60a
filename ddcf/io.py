"""Artifact I/O: atomic writes, manifests, schema-checked reads.

Every artifact goes through :func:`atomic_path`: we write to a temporary file in
the destination directory, fsync it, then ``os.replace`` it over the target.  A
killed stage therefore leaves either the old artifact or the new one.
Nothing here uses pickle.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from ddcf.errors import DDCFError, InputMismatchError, first_line


# --------------------------------------------------------------------------- atomic writes
def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it over ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600 files; artifacts are meant to be shared like any other output file.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_parquet(df: pd.DataFrame, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Write a DataFrame as Parquet atomically; ``metadata`` lands in the file's key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata:
        meta = dict(table.schema.metadata or {})
        meta[b"ddcf"] = json.dumps(metadata, sort_keys=True, default=str).encode()
        table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


def read_parquet_metadata(path: str | os.PathLike) -> dict:
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(b"ddcf")
    return json.loads(raw) if raw else {}


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")
    return Path(path)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_npy(arr: np.ndarray, path: str | os.PathLike) -> Path:
    with atomic_path(path, suffix=".npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)
    return Path(path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)


# --------------------------------------------------------------------------- reads
def require_file(path: str | os.PathLike, what: str, fix: str) -> Path:
    """Return ``path`` if it is an existing, non-empty file; otherwise raise a DDCFError."""
    p = Path(path)
    if not p.exists():
        raise DDCFError(f"The {what} file {p} does not exist.", fix)
    if p.is_dir():
        raise DDCFError(f"The {what} path {p} is a directory, not a file.", fix)
    if p.stat().st_size == 0:
        raise DDCFError(f"The {what} file {p} is empty (0 bytes).", fix)
    return p


def read_table(
    path: str | os.PathLike,
    what: str,
    required: Sequence[str] = (),
    fix: str = "pass a Parquet or CSV table with those columns.",
) -> pd.DataFrame:
    """Read a Parquet/CSV/JSONL table and check it has the ``required`` columns and rows."""
    p = require_file(path, what, fix)
    suffix = p.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        elif suffix in (".csv",):
            df = pd.read_csv(p)
        elif suffix in (".tsv",):
            df = pd.read_csv(p, sep="\t")
        elif suffix in (".jsonl", ".json"):
            df = pd.read_json(p, lines=suffix == ".jsonl")
        else:
            raise DDCFError(
                f"The {what} file {p} has the extension '{p.suffix}', which ddcf does not read.",
                "use .parquet, .csv, .tsv or .jsonl.",
            )
    except DDCFError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser error becomes one clear message
        raise DDCFError(
            f"Could not read the {what} file {p}: {type(exc).__name__}: {first_line(exc)}.",
            f"check that it is a valid {suffix.lstrip('.') or 'table'} file; {fix}",
        ) from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DDCFError(
            f"The {what} file {p} lacks the column(s) {', '.join(missing)}; it has: "
            f"{', '.join(map(str, df.columns)) or '(none)'}.",
            fix,
        )
    if len(df) == 0:
        raise DDCFError(f"The {what} file {p} has no rows.", fix)
    return df


def read_json(path: str | os.PathLike, what: str, fix: str) -> dict:
    p = require_file(path, what, fix)
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise DDCFError(f"The {what} file {p} is not valid JSON ({exc.msg} at line {exc.lineno}).", fix) from None


# --------------------------------------------------------------------------- provenance
def hash_ids(ids: Iterable[str]) -> str:
    """Content hash of an ordered list of question ids (order matters: rows are aligned by it)."""
    h = hashlib.sha256()
    for qid in ids:
        h.update(str(qid).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- embeddings with manifest
def manifest_path(npy_path: str | os.PathLike) -> Path:
    return Path(npy_path).with_suffix(".json")


def ids_path(npy_path: str | os.PathLike) -> Path:
    p = Path(npy_path)
    return p.with_name(p.stem + ".ids.parquet")


def save_embeddings(
    arr: np.ndarray,
    question_ids: Sequence[str],
    npy_path: str | os.PathLike,
    manifest: dict,
) -> Path:
    """Write ``arr`` (.npy), its question ids (.ids.parquet) and a JSON manifest, each atomically.

    The manifest is written last: a reader that finds a manifest whose hash
    matches the ids file knows the pair is complete.
    """
    if arr.ndim != 2 or arr.shape[0] != len(question_ids):
        raise ValueError(f"embedding rows {arr.shape} do not match {len(question_ids)} ids")
    write_npy(arr, npy_path)
    write_parquet(pd.DataFrame({"question_id": list(map(str, question_ids))}), ids_path(npy_path))
    full = dict(manifest)
    full.update(
        n=int(arr.shape[0]),
        dim=int(arr.shape[1]),
        dtype=str(arr.dtype),
        question_ids_sha256=hash_ids(question_ids),
        npy=Path(npy_path).name,
        ids=ids_path(npy_path).name,
    )
    write_json(full, manifest_path(npy_path))
    return Path(npy_path)


def load_embeddings(
    npy_path: str | os.PathLike, what: str = "embeddings", mmap: bool = True, check_finite: bool = True
) -> tuple[np.ndarray, list[str], dict]:
    """Load an embedding matrix with its ids and manifest, checking they agree."""
    fix = "recompute them with get_question_embeddings.py."
    p = require_file(npy_path, what, fix)
    manifest = read_json(manifest_path(p), f"{what} manifest", fix)
    ids_df = read_table(ids_path(p), f"{what} question-id", ["question_id"], fix)
    ids = ids_df["question_id"].astype(str).tolist()
    try:
        arr = np.load(p, mmap_mode="r" if mmap else None, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise DDCFError(f"Could not read the {what} file {p}: {exc}.", fix) from None
    if arr.ndim != 2 or arr.shape[0] != len(ids):
        raise InputMismatchError(
            f"The {what} file {p} has shape {arr.shape} but its id list {ids_path(p)} has {len(ids)} ids.", fix
        )
    if manifest.get("question_ids_sha256") not in (None, hash_ids(ids)):
        raise InputMismatchError(
            f"The {what} manifest {manifest_path(p)} does not match its id list {ids_path(p)} "
            "(the files come from different runs).",
            fix,
        )
    if check_finite:
        bad = _count_nonfinite(arr)
        if bad:
            raise DDCFError(
                f"The {what} file {p} contains {bad} non-finite value(s) (NaN or inf).",
                "recompute the embeddings (get_question_embeddings.py --overwrite); NaNs usually mean an "
                "fp16 overflow or an empty text.",
            )
    return arr, ids, manifest


def _count_nonfinite(arr: np.ndarray, chunk: int = 65536) -> int:
    bad = 0
    for start in range(0, arr.shape[0], chunk):
        block = np.asarray(arr[start : start + chunk])
        bad += int(block.size - np.isfinite(block).sum())
    return bad


def align_embeddings(
    arr: np.ndarray, emb_ids: Sequence[str], wanted_ids: Sequence[str], what: str, npy_path: str | os.PathLike
) -> np.ndarray:
    """Return the rows of ``arr`` for ``wanted_ids`` (join by id, never by position)."""
    index = {qid: i for i, qid in enumerate(emb_ids)}
    missing = [q for q in wanted_ids if q not in index]
    if missing:
        sample = ", ".join(map(str, missing[:5]))
        raise InputMismatchError(
            f"The {what} file {npy_path} has no vectors for {len(missing)} of {len(wanted_ids)} questions "
            f"(e.g. {sample}): the embeddings were computed for other questions.",
            "rerun get_question_embeddings.py so it embeds the current question tables.",
        )
    rows = np.fromiter((index[q] for q in wanted_ids), dtype=np.int64, count=len(wanted_ids))
    if len(rows) == len(emb_ids) and np.array_equal(rows, np.arange(len(rows))):
        return arr
    return np.asarray(arr[rows])
