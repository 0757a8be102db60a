"""A resumable run folder: the settings that produced it, its Parquet shards, and the one resume check.

Layout of a run folder (``Layout.generations(model)``, ``Layout.eval_shards(out, benchmark)``,
``Layout.distill_shards(selection)``)::

    run_config.json       the settings that decide a shard's content, their hash, format, info
    shard-00000.parquet   rows of slice 0 of the ordered question list; its Parquet metadata is the completion
    shard-00001.parquet   marker: config_sha256, question_ids_sha256 and n_rows of the rows it holds
    .lock                 held (flock) while a process works in the folder

A shard is a fixed slice of a fixed question list, so its content is decided by the settings alone: a restarted
run (or another worker) skips every shard whose marker matches and makes the rest.  Shards are written atomically
(:mod:`ddcf.io`: a temporary name, then a rename), so a killed run leaves whole shards only; leftover temporary
files are removed when the folder is opened.  A shard may hold only part of its slice (``--questions``): its
marker hashes the ids it holds, and a later run fills in the rest (:func:`merge_rows`).

:func:`open_run` is the one resume check: settings equal to ``run_config.json``'s resume; others are refused
with the settings that differ named, or, with ``--overwrite`` (``start_over``), the folder's shards are deleted
and the run starts over.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import pandas as pd

from ddcf.errors import DDCFError
from ddcf.io import hash_ids, read_parquet_metadata, read_side_file, write_json, write_parquet
from ddcf.runs.engine import OVERWRITE

RUN_CONFIG = "run_config.json"
LOCK = ".lock"
SHARD_GLOB = "shard-*.parquet"
#: keys of run_config.json that are not settings (not compared, not hashed)
BOOKKEEPING = ("config_sha256", "format", "info")


def shard_path(folder: Path, index: int) -> Path:
    return Path(folder) / f"shard-{index:05d}.parquet"


def settings_sha256(settings: dict) -> str:
    """The hash a shard's marker carries: of the settings, as canonical JSON."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class ShardPlan:
    """Fixed slices of the ordered question list."""

    question_ids: tuple[str, ...]
    shard_size: int

    @property
    def n_shards(self) -> int:
        return (len(self.question_ids) + self.shard_size - 1) // self.shard_size

    def bounds(self, index: int) -> tuple[int, int]:
        start = index * self.shard_size
        return start, min(start + self.shard_size, len(self.question_ids))

    def ids(self, index: int) -> tuple[str, ...]:
        a, b = self.bounds(index)
        return self.question_ids[a:b]

    def ids_hash(self, index: int) -> str:
        return hash_ids(self.ids(index))


# --------------------------------------------------------------------------- the resume check
def settings_differences(old: dict, new: dict) -> list[str]:
    """``key: old -> new`` per differing setting (``key.sub`` inside a dict); an absent key reads as None."""
    diffs = []
    for key in sorted((set(old) | set(new)) - set(BOOKKEEPING)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += [f"{key}.{k}: {_short(a.get(k))} -> {_short(b.get(k))}"
                      for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        else:
            diffs.append(f"{key}: {_short(a)} -> {_short(b)}")
    return diffs


def _short(v) -> str:
    s = repr(v)
    return s if len(s) <= 24 else s[:20] + "...'"


@dataclass
class RunFolder:
    """An opened run folder: where its shards are and which settings they must carry."""

    path: Path
    settings: dict
    sha: str
    kept: int = 0  # shards of these settings present when opened
    cleared: int = 0  # shards deleted by --overwrite
    previous: dict | None = field(default=None, repr=False)

    def shard_path(self, index: int) -> Path:
        return shard_path(self.path, index)

    def shard_done(self, index: int, ids_hash: str, n_rows: int) -> bool:
        """True when shard ``index`` exists and holds its whole slice (``ids_hash``, ``n_rows``) of these settings."""
        meta = _marker(self.shard_path(index))
        return (meta is not None and meta.get("config_sha256") == self.sha
                and meta.get("question_ids_sha256") == ids_hash and int(meta.get("n_rows", -1)) == n_rows)

    def held_ids(self, index: int, slice_ids: tuple[str, ...], n: int = 1) -> tuple[str, ...]:
        """The ids of ``slice_ids`` whose ``n`` rows each shard ``index`` holds, in slice order; () if none usable.

        A whole slice is seen from the marker alone (no data read); a part of one (``--questions``) is read back
        and checked against its marker."""
        p = self.shard_path(index)
        meta = _marker(p)
        if meta is None or meta.get("config_sha256") != self.sha:
            return ()
        rows = int(meta.get("n_rows", -1))
        if meta.get("question_ids_sha256") == hash_ids(slice_ids):
            return slice_ids if rows == len(slice_ids) * n else ()
        try:
            col = pd.read_parquet(p, columns=["question_id"])["question_id"].astype(str)
        except Exception:  # noqa: BLE001 - unreadable (damaged by hand): made again
            return ()
        held = tuple(dict.fromkeys(col))
        order = {q: k for k, q in enumerate(slice_ids)}
        if (meta.get("question_ids_sha256") != hash_ids(held) or rows != len(held) * n or len(col) != rows
                or any(q not in order for q in held)):
            return ()
        return held

    def write_shard(self, index: int, df: pd.DataFrame, meta: dict | None = None) -> Path:
        """Write shard ``index`` atomically; its marker: these settings' hash, the ids it holds, its row count."""
        marker = {"config_sha256": self.sha, "question_ids_sha256": hash_ids(dict.fromkeys(df["question_id"])),
                  "n_rows": int(len(df)), "shard": index, **(meta or {})}
        return write_parquet(df, self.shard_path(index), metadata=marker)

    def read_shards(self, indexes: int | Iterable[int], columns: Sequence[str] | None = None) -> pd.DataFrame:
        return read_shards(self.path, indexes, columns)

    def shard_metadata(self, indexes: int | Iterable[int]) -> list[dict]:
        return shard_metadata(self.path, indexes)


def _marker(p: Path) -> dict | None:
    if not p.exists():
        return None
    try:
        return read_parquet_metadata(p)
    except Exception:  # noqa: BLE001 - unreadable (damaged by hand): made again
        return None


def open_run(folder: Path, settings: dict, *, what: str = "shards", start_over: bool = False,
             info: dict | None = None, also_clear: Iterable[Path] = (), hints: dict | None = None,
             alternatives: str = "", explain: Callable[[dict, dict, int], DDCFError | None] | None = None) -> RunFolder:
    """Open the run folder ``folder`` for ``settings`` (call it holding :func:`run_lock`).

    New folder: ``run_config.json`` is written (``settings``, their hash, ``info``).  Same settings: resumed.
    Other settings: a :class:`DDCFError` naming each differing setting (``explain(old, new, kept)`` may give a
    stage's own), unless ``start_over`` (``--overwrite``): then the shards, the run config and ``also_clear``
    (the stage's files made from them) are deleted first.  ``hints``: setting -> words added to the error when
    that setting differs; ``alternatives``: another way on, for the error's fix."""
    folder = Path(folder)
    cleared = clear_run(folder, also_clear) if start_over else 0
    remove_stale_tmp(folder)
    sha = settings_sha256(settings)
    config = folder / RUN_CONFIG
    old = None
    if config.exists():
        old = read_side_file(config, "run config", f"delete {folder} or rerun with {OVERWRITE}.")
    kept = count_shards(folder, sha)
    if old is None:
        folder.mkdir(parents=True, exist_ok=True)
        write_json({**settings, "config_sha256": sha, "format": 1, **({"info": info} if info else {})}, config)
    else:
        diffs = settings_differences(old, settings)
        if diffs:
            old_kept = count_shards(folder, old.get("config_sha256") or settings_sha256(
                {k: v for k, v in old.items() if k not in BOOKKEEPING}))
            err = explain(old, settings, old_kept) if explain is not None else None
            differing = {d.split(":")[0].split(".")[0] for d in diffs}
            hint = next((h for k, h in (hints or {}).items() if k in differing), "")
            raise err or DDCFError(
                f"The {what} in {folder} were made with other settings than this run{hint}: " + "; ".join(diffs)
                + ".", f"rerun with the original settings to resume ({old_kept} finished shard(s) are kept), "
                f"{alternatives + ', ' if alternatives else ''}or add {OVERWRITE} to delete them and start over "
                "with the new settings.")
    return RunFolder(folder, settings, sha, kept=kept, cleared=cleared, previous=old)


def count_shards(folder: Path, sha: str) -> int:
    return sum(1 for p in Path(folder).glob(SHARD_GLOB) if (_marker(p) or {}).get("config_sha256") == sha)


def clear_run(folder: Path, also: Iterable[Path] = ()) -> int:
    """Delete the folder's shards, run config, ``also`` and stray temporary files; the number of shards deleted."""
    folder = Path(folder)
    n = 0
    for p in [*folder.glob(SHARD_GLOB), folder / RUN_CONFIG, *map(Path, also)]:
        if p.exists():
            p.unlink()
            n += p.name.startswith("shard-")
    remove_stale_tmp(folder)
    return n


def remove_stale_tmp(folder: Path) -> None:
    """A run killed mid-write (kill -9) can leave ``.shard-*.tmp`` files; they are never valid data."""
    for p in Path(folder).glob(".shard-*.tmp*"):
        with contextlib.suppress(OSError):
            p.unlink()


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Only one process may work in a run folder at a time (released automatically if it dies)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / LOCK, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DDCFError(
                f"Another process is working in {folder} right now.",
                "wait for it to finish (or stop it); two runs in one folder would overwrite each other.",
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
        fh.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


# --------------------------------------------------------------------------- reading shards
def merge_rows(path: Path, new: pd.DataFrame, stats: dict, slice_ids: tuple[str, ...], held: tuple[str, ...],
               columns: Sequence[str]) -> tuple[pd.DataFrame, dict]:
    """The shard's kept rows (of ``held``) plus ``new``, in slice order, and the token stats of both runs."""
    if not held:
        return new, stats
    old = pd.read_parquet(path)
    old_meta = read_parquet_metadata(path)
    order = {q: k for k, q in enumerate(slice_ids)}
    df = pd.concat([old[list(columns)], new[list(columns)]], ignore_index=True)
    df = (df.assign(_pos=df["question_id"].map(order)).sort_values(["_pos", "sample"], kind="stable")
            .drop(columns="_pos").reset_index(drop=True))
    # throughput sums these over shards, so a rewritten shard carries the cost of every run that filled it
    summed = {k: v + old_meta.get(k, 0) for k, v in stats.items() if isinstance(v, (int, float))}
    return df, {**stats, **summed}


def read_shards(folder: Path, indexes: int | Iterable[int], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of shards ``range(indexes)`` (or of the given shard indexes)."""
    frames = []
    for i in _indexes(indexes):
        p = shard_path(folder, i)
        try:
            frames.append(pd.read_parquet(p))
        except Exception as exc:  # noqa: BLE001
            raise DDCFError(
                f"Could not read the shard {p}: {type(exc).__name__}.",
                "delete that file and rerun the same command to make it again.",
            ) from None
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns or ()))


def shard_metadata(folder: Path, indexes: int | Iterable[int]) -> list[dict]:
    return [read_parquet_metadata(shard_path(folder, i)) for i in _indexes(indexes)]


def _indexes(indexes: int | Iterable[int]) -> Iterable[int]:
    return range(indexes) if isinstance(indexes, int) else indexes
