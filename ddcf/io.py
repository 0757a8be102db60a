"""Artifact I/O: atomic writes, manifests, schema-checked reads.

Every artifact goes through :func:`atomic_path`: we write to a temporary file in
the destination directory, fsync it, then ``os.replace`` it over the target.  A
killed stage therefore leaves either the old artifact or the new one, plus at
most a hidden ``.<name>.<pid>.<random>.tmp`` file, which the next write of the
same target removes once it is stale (see :func:`remove_stale_temps`).
Nothing here uses pickle.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
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


# A temporary file is only ever written by a live process within seconds of its last change, so one that has not
# changed for this long and whose writer (the pid in its name) is gone is debris of a killed write.
STALE_TEMP_SECONDS = 10 * 60
# Past this age a temp file is removed even if a process with its pid is alive: pids are reused, and a writer on
# another machine sharing the folder cannot be checked at all.
ABANDONED_TEMP_SECONDS = 24 * 3600
# ``.{name}.{pid}.{8 random chars}.tmp{suffix}`` (the pid part is absent in names written before it was added).
_TEMP_REST = re.compile(r"^(?:(\d+)\.)?[A-Za-z0-9_]{8}\.tmp")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (a zombie counts as alive: it may not be reaped yet)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists but belongs to someone else
        return True
    return True


def is_stale(path: Path, pid: int | None, now: float | None = None) -> bool:
    """A leftover of a killed writer: unchanged for :data:`STALE_TEMP_SECONDS` and its writer gone (or unknown),
    or unchanged for :data:`ABANDONED_TEMP_SECONDS` whatever its pid says."""
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    if age >= ABANDONED_TEMP_SECONDS:
        return True
    return age >= STALE_TEMP_SECONDS and (pid is None or (pid != os.getpid() and not pid_alive(pid)))


def remove_stale_temps(directory: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Delete stale temporary files that :func:`atomic_path` left in ``directory`` (those of target ``name``
    only, when given); returns what was removed.  A concurrent writer's live temp file is kept (:func:`is_stale`)."""
    directory = Path(directory)
    prefix = f".{name}." if name is not None else "."
    removed = []
    try:
        entries = [e for e in os.scandir(directory) if e.name.startswith(prefix) and ".tmp" in e.name]
    except FileNotFoundError:
        return removed
    for entry in entries:
        rest = entry.name[len(prefix):]
        if name is None:  # ``.{any name}.{pid}.{random}.tmp``: the target name is what precedes the pid part
            m = re.search(r"\.(?:(\d+)\.)?[A-Za-z0-9_]{8}\.tmp", entry.name)
        else:
            m = _TEMP_REST.match(rest)
        if not m or not entry.is_file(follow_symlinks=False):
            continue
        path = Path(entry.path)
        if is_stale(path, int(m.group(1)) if m.group(1) else None):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it over ``target`` on success.

    Stale temporary files of ``target`` from killed earlier writes are removed first.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target.parent, target.name)
    # The pid in the name lets a later run tell a dead writer's leftover from a concurrent writer's live file.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp" + suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, shared_mode(0o666))  # mkstemp creates 0600 files; artifacts are shared like any output
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


# --------------------------------------------------------------------------- folder swap
# A folder of files that only make sense together (a selection, a report, a push staging folder) changes as one
# unit: it is built whole in a hidden sibling ``.<name>.new-<pid>-<random>/``, then
#   1. the current folder (if any) is renamed to ``.<name>.old``,
#   2. the new folder is renamed to ``<name>``,
#   3. ``.<name>.old`` is deleted.
# A kill before 1 leaves the old folder untouched (plus a ``.new-*`` folder); after 2 the new folder is complete;
# between 1 and 2 only ``.<name>.old`` exists, which readers use (:func:`current_dir`) and the next swap of the same
# target puts back before it starts (:func:`recover_dir`).  Linux cannot rename a folder over a non-empty one, so
# the two renames cannot be one.


def set_aside_dir(target: str | os.PathLike) -> Path:
    """Where a swap keeps the previous ``target`` between its two renames."""
    target = Path(target)
    return target.parent / f".{target.name}.old"


def _staging_prefix(target: Path) -> str:
    return f".{target.name}.new-"


def current_dir(target: str | os.PathLike) -> Path:
    """The folder a reader should use: ``target``, or the previous one a kill between the renames left set aside."""
    target = Path(target)
    old = set_aside_dir(target)
    return old if not target.exists() and old.is_dir() else target


def _staging_writer_alive(name: str, prefix: str) -> bool:
    m = re.match(r"(\d+)-", name[len(prefix):])
    pid = int(m.group(1)) if m else -1
    return pid != os.getpid() and pid_alive(pid)


def recover_dir(target: str | os.PathLike) -> None:
    """Undo what a killed swap left: put a set-aside folder back (or drop it when the new one is in place) and
    delete unfinished staging folders whose writer is gone."""
    target = Path(target)
    old = set_aside_dir(target)
    if old.is_dir():
        if target.exists():
            shutil.rmtree(old)
        else:
            os.replace(old, target)
    prefix = _staging_prefix(target)
    if target.parent.is_dir():
        for p in target.parent.iterdir():
            if p.name.startswith(prefix) and p.is_dir() and not _staging_writer_alive(p.name, prefix):
                shutil.rmtree(p, ignore_errors=True)


def shared_mode(kind: int = 0o777) -> int:
    """``kind`` less the process umask: the mode ``open``/``mkdir`` would give (mkstemp/mkdtemp give 0600/0700)."""
    umask = os.umask(0)
    os.umask(umask)
    return kind & ~umask


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty hidden sibling of ``target``; on success it replaces ``target`` as a whole (the swap above).

    The one folder swap of ddcf: a reader never sees a mix of two runs' files, a run cut short leaves the previous
    folder as it was, and the folder gets the mode any output folder gets (the umask's), not mkdtemp's 0700.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(target)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_staging_prefix(target)}{os.getpid()}-", dir=target.parent))
    os.chmod(tmp, shared_mode(0o777))
    try:
        yield tmp
    except BaseException:
        # an error (or Ctrl-C) in the writer: nothing was swapped; a SIGKILL leaves tmp for recover_dir instead
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = set_aside_dir(target)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


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


def json_safe(obj: Any) -> Any:
    """``obj`` with every NaN/inf float (an undefined metric) as None, so JSON files stay strict (null, not NaN)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        return None
    return obj


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Strict JSON (an undefined number is written as null, never as a bare NaN), atomically."""
    text = json.dumps(json_safe(obj), indent=2, sort_keys=True, default=_json_default, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")
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
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Read a Parquet/CSV/JSONL table and check it has the ``required`` columns and (unless ``allow_empty``)
    rows."""
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
    if len(df) == 0 and not allow_empty:
        raise DDCFError(f"The {what} file {p} has no rows.", fix)
    return df


def read_json(path: str | os.PathLike, what: str, fix: str) -> dict:
    p = require_file(path, what, fix)
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise DDCFError(f"The {what} file {p} is not valid JSON ({exc.msg} at line {exc.lineno}).", fix) from None


def read_json_or_none(path: str | os.PathLike) -> Any:
    """A JSON marker or state file a killed writer may have left missing, truncated or damaged: its content, or
    None (the caller treats that as "not done").  Validated side files use :func:`read_side_file`."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing or unreadable; JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


_TYPE_WORDS = {dict: "an object ({...})", list: "a list ([...])", str: "a string", bool: "true/false",
               int: "an integer", float: "a number", type(None): "null"}


def _type_word(t) -> str:
    return " or ".join(_TYPE_WORDS.get(x, x.__name__) for x in (t if isinstance(t, tuple) else (t,)))


def read_side_file(path: str | os.PathLike, what: str, fix: str, expect: type | tuple = dict) -> Any:
    """A JSON or YAML side file (config, metrics, report, manifest), validated: present, UTF-8, parseable and of
    the ``expect`` top-level type; anything else is one DDCFError naming the file and ``fix``.

    YAML is read for ``.yaml``/``.yml``, JSON otherwise (NaN and Infinity are refused: our JSON is strict).
    """
    import yaml

    p = require_file(path, what, fix)
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DDCFError(f"The {what} file {p} is not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x}).",
                        fix) from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise DDCFError(f"The {what} file {p} is not valid JSON ({exc.msg} at line {exc.lineno}).", fix) from None
    except (yaml.YAMLError, ValueError) as exc:
        raise DDCFError(f"The {what} file {p} does not parse: {first_line(exc)}.", fix) from None
    if not isinstance(data, expect) or (isinstance(data, bool) and bool not in _as_tuple(expect)):
        raise DDCFError(f"The {what} file {p} holds {_type_word(type(data))} where {_type_word(expect)} belongs.",
                        fix)
    return data


def _as_tuple(t) -> tuple:
    return t if isinstance(t, tuple) else (t,)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def side_value(data: dict, key: str, expect: type | tuple, path: str | os.PathLike, what: str, fix: str,
               required: bool = True) -> Any:
    """``data[key]`` checked to be of type ``expect`` (a bool is never taken for a number); a missing key is an
    error when ``required``, else None."""
    if key not in data or data[key] is None:
        if required:
            raise DDCFError(f"The {what} file {path} has no {key!r}.", fix)
        return None
    value = data[key]
    kinds = _as_tuple(expect)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise DDCFError(f"The {what} file {path} has {key!r} = {str(value)[:60]!r}, which is "
                        f"{_type_word(type(value))}, where {_type_word(expect)} belongs.", fix)
    return value


# --------------------------------------------------------------------------- text cells
# str.strip() keeps these, yet they show nothing: a text made only of them is as empty as "".
_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\u2060\ufeff\u00ad")


def has_visible_text(text: str) -> bool:
    """False for an empty text, or one of only whitespace and zero-width characters."""
    return bool(text.translate(_INVISIBLE).strip())


def _blank_cell(value: Any) -> bool:
    if isinstance(value, str):
        return not has_visible_text(value)
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return True
    return not has_visible_text(str(value))


def blank_text(texts: pd.Series) -> pd.Series:
    """True where a cell is missing, empty, or only whitespace / zero-width characters (no question, no answer)."""
    return texts.map(_blank_cell).astype(bool)


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


def array_sha256(arr: np.ndarray, rows: int = 65536) -> str:
    """SHA-256 of a 2-D array's values (C order, stored dtype), read in row blocks so a memory map stays cheap.

    The shape and dtype are not part of it; manifests record them beside it.
    """
    h = hashlib.sha256()
    for start in range(0, arr.shape[0], rows):
        h.update(np.ascontiguousarray(arr[start : start + rows]).tobytes())
    return h.hexdigest()


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

    The manifest is written last and records hashes of both the ids (``question_ids_sha256``) and the vectors
    (``vectors_sha256``, :func:`array_sha256`): a reader whose files match them knows the three belong together,
    even when a file was replaced after its manifest (:func:`load_embeddings` checks both).
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
        vectors_sha256=array_sha256(arr),
        npy=Path(npy_path).name,
        ids=ids_path(npy_path).name,
    )
    write_json(full, manifest_path(npy_path))
    return Path(npy_path)


# Matrices up to this size have their vectors hash checked by default (about 1 s of SHA-256 per GiB); larger
# ones only when asked (``verify_hash=True``), since every stage maps them rather than reading them whole.
VERIFY_HASH_MAX_BYTES = 1 << 30


def load_embeddings(
    npy_path: str | os.PathLike,
    what: str = "embeddings",
    mmap: bool = True,
    check_finite: bool = True,
    verify_hash: bool | None = None,
) -> tuple[np.ndarray, list[str], dict]:
    """Load an embedding matrix with its ids and manifest, checking they agree.

    The id list is always checked against the manifest's ``question_ids_sha256``.  The vectors are checked against
    its ``vectors_sha256`` when ``verify_hash`` is True, or by default (None) when the matrix is at most
    :data:`VERIFY_HASH_MAX_BYTES`; manifests written before that key existed load unchecked.
    """
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
    expected = manifest.get("vectors_sha256")
    if verify_hash is None:
        verify_hash = arr.nbytes <= VERIFY_HASH_MAX_BYTES
    if expected and verify_hash and array_sha256(arr) != expected:
        raise InputMismatchError(
            f"The {what} file {p} does not hold the vectors its manifest {manifest_path(p)} describes "
            "(vectors_sha256 differs): the file was replaced or damaged after the manifest was written.",
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
