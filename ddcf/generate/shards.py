"""Sharded checkpoints of generated completions, and resuming from them.

Layout of ``Layout.generations(model)``::

    run_config.json       what the shards were generated with (checked on resume)
    shard-00000.parquet   completions of questions [0, shard_size) of the ordered list
    shard-00001.parquet   ...
    verified.json         written after the verdict table: which config and which file
    run_summary.json      wall time, tokens, tokens/s, length/budget report
    .lock                 held (flock) while a process works on this model

A shard is a fixed slice of the ordered question list, so a shard's content is
determined by the settings alone; a restarted run skips every shard whose file
exists and whose metadata (config hash, question-id hash, row count) matches,
and generates the rest.  A ``--questions`` run fills only the listed part of a
slice; the next run that needs more of it generates only what is missing and
rewrites the shard.  Shards are written atomically (``ddcf.io``), so a killed
run leaves whole shards only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from ddcf.errors import DDCFError
from ddcf.io import hash_ids, read_json, read_parquet_metadata, write_json, write_parquet
from ddcf.layout import Layout

# run_config.json, verified.json and run_summary.json are named by ddcf.layout.Layout; the shard
# files and the lock below are this store's own format.
LOCK = ".lock"
SHARD_GLOB = "shard-*.parquet"

#: settings that change what a completion is; a resume must match all of them.
ENFORCED_KEYS = (
    "model",
    "prompts_sha256",
    "chat_template",
    "max_prompt_tokens",
    "sampling",
    "followup",
    "question_ids_sha256",
    "n_questions",
    "shard_size",
    "prompt_style",  # absent = ddcf (runs made before --prompt_style existed)
    "context_length",
    "types_sha256",
)

SHARD_COLUMNS = [
    "question_id", "sample", "dataset", "question", "gold", "prompt_tokens", "n_shots", "prompt_truncated",
    "raw_completion", "completion", "completion_tokens", "finish_reason", "followup", "followup_text",
    "followup_tokens",
]


def shard_path(gen_dir: Path, index: int) -> Path:
    return Path(gen_dir) / f"shard-{index:05d}.parquet"


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


# --------------------------------------------------------------------------- run config
def config_differences(old: dict, new: dict) -> list[str]:
    diffs = []
    for key in ENFORCED_KEYS:
        a, b = old.get(key), new.get(key)
        if a != b:
            if isinstance(a, dict) and isinstance(b, dict):
                for k in sorted(set(a) | set(b)):
                    if a.get(k) != b.get(k):
                        diffs.append(f"{key}.{k}: {_short(a.get(k))} -> {_short(b.get(k))}")
            else:
                diffs.append(f"{key}: {_short(a)} -> {_short(b)}")
    return diffs


def _short(v) -> str:
    s = repr(v)
    return s if len(s) <= 24 else s[:20] + "...'"


def read_run_config(layout: Layout, model: str) -> dict | None:
    p = layout.generation_run_config(model)
    if not p.exists():
        return None
    return read_json(p, "generation run config", "delete the generations folder or rerun with --force_regenerate.")


def check_or_write_run_config(layout: Layout, model: str, config: dict, n_done_shards: int) -> None:
    """Write ``run_config.json`` for a new run, or check a resumed run uses the same settings."""
    old = read_run_config(layout, model)
    if old is None:
        write_json(config, layout.generation_run_config(model))
        return
    diffs = config_differences(old, config)
    if diffs:
        hint = ""
        if any(d.startswith(("question_ids_sha256", "n_questions")) for d in diffs):
            hint = " (the question list changed: a different --limit or a new seed question table)"
        old_style, new_style = old.get("prompt_style") or "ddcf", config.get("prompt_style") or "ddcf"
        if old_style != new_style:
            raise DDCFError(
                f"The generations in {layout.generations(model)} were made with --prompt_style {old_style}, this "
                f"run uses --prompt_style {new_style} (its prompts, stop strings and follow-up differ; the default "
                "became reference, the released infer.py's).",
                f"add --prompt_style {old_style} to resume them ({n_done_shards} finished shard(s) are kept), or "
                f"--force_regenerate to delete them and start over with --prompt_style {new_style}.")
        raise DDCFError(
            f"The generations in {layout.generations(model)} were made with other settings than this run{hint}: "
            + "; ".join(diffs) + ".",
            f"rerun with the original settings to resume ({n_done_shards} finished shard(s) are kept), or add "
            "--force_regenerate to delete them and start over with the new settings.",
        )


# --------------------------------------------------------------------------- shard files
def write_shard(gen_dir: Path, index: int, df: pd.DataFrame, meta: dict) -> Path:
    return write_parquet(df[SHARD_COLUMNS], shard_path(gen_dir, index), metadata=meta)


def shard_is_done(gen_dir: Path, index: int, config_sha256: str, ids_hash: str, n_rows: int) -> bool:
    """True when shard ``index`` exists and belongs to this configuration and question slice."""
    p = shard_path(gen_dir, index)
    if not p.exists():
        return False
    try:
        meta = read_parquet_metadata(p)
    except Exception:  # noqa: BLE001 - unreadable (damaged by hand): regenerate it
        return False
    return (
        meta.get("config_sha256") == config_sha256
        and meta.get("question_ids_sha256") == ids_hash
        and int(meta.get("n_rows", -1)) == n_rows
    )


def shard_held_ids(gen_dir: Path, index: int, config_sha256: str, slice_ids: tuple[str, ...], n: int
                   ) -> tuple[str, ...]:
    """The question ids whose ``n`` completions shard ``index`` holds, in slice order; () if none are usable.

    A full run writes whole slices (metadata hash = the slice's hash, no data read).  A ``--questions`` run
    writes a shard with only the listed part of its slice; its metadata hashes the ids it holds, and the next
    run that needs more of the slice generates the rest and rewrites it (:func:`merge_shard`)."""
    p = shard_path(gen_dir, index)
    if not p.exists():
        return ()
    try:
        meta = read_parquet_metadata(p)
    except Exception:  # noqa: BLE001 - unreadable (damaged by hand): regenerate it
        return ()
    if meta.get("config_sha256") != config_sha256:
        return ()
    rows = int(meta.get("n_rows", -1))
    if meta.get("question_ids_sha256") == hash_ids(slice_ids):
        return slice_ids if rows == len(slice_ids) * n else ()
    try:
        col = pd.read_parquet(p, columns=["question_id"])["question_id"].astype(str)
    except Exception:  # noqa: BLE001
        return ()
    held = tuple(dict.fromkeys(col))
    order = {q: k for k, q in enumerate(slice_ids)}
    if (meta.get("question_ids_sha256") != hash_ids(held) or rows != len(held) * n or len(col) != rows
            or any(q not in order for q in held)):
        return ()
    return held


def merge_shard(gen_dir: Path, index: int, new: pd.DataFrame, stats: dict, slice_ids: tuple[str, ...],
                held: tuple[str, ...]) -> tuple[pd.DataFrame, dict]:
    """The shard's kept rows (of ``held``) plus ``new``, in slice order, and the token stats of both runs."""
    if not held:
        return new, stats
    p = shard_path(gen_dir, index)
    old = pd.read_parquet(p)
    old_meta = read_parquet_metadata(p)
    order = {q: k for k, q in enumerate(slice_ids)}
    df = pd.concat([old[SHARD_COLUMNS], new[SHARD_COLUMNS]], ignore_index=True)
    df = (df.assign(_pos=df["question_id"].map(order)).sort_values(["_pos", "sample"], kind="stable")
            .drop(columns="_pos").reset_index(drop=True))
    # throughput sums these over shards, so a rewritten shard carries the cost of every run that filled it
    summed = {k: v + old_meta.get(k, 0) for k, v in stats.items() if isinstance(v, (int, float))}
    return df, {**stats, **summed}


def read_shards(gen_dir: Path, n_shards: int | Iterable[int]) -> pd.DataFrame:
    """The completions of shards ``range(n_shards)`` (or of the given shard indexes)."""
    frames = []
    for i in _indexes(n_shards):
        p = shard_path(gen_dir, i)
        try:
            frames.append(pd.read_parquet(p))
        except Exception as exc:  # noqa: BLE001
            raise DDCFError(
                f"Could not read the generation shard {p}: {type(exc).__name__}.",
                "delete that file and rerun the same command to regenerate it.",
            ) from None
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SHARD_COLUMNS)


def shard_metadata(gen_dir: Path, n_shards: int | Iterable[int]) -> list[dict]:
    return [read_parquet_metadata(shard_path(gen_dir, i)) for i in _indexes(n_shards)]


def _indexes(n_shards: int | Iterable[int]) -> Iterable[int]:
    return range(n_shards) if isinstance(n_shards, int) else n_shards


def clear_generations(layout: Layout, model: str) -> int:
    """Delete shards, config, markers and stray temporary files (for --force_regenerate)."""
    gen_dir = layout.generations(model)
    if not gen_dir.exists():
        return 0
    n = 0
    markers = [layout.generation_run_config(model), layout.generation_verified(model),
               layout.generation_summary(model)]
    for p in list(gen_dir.glob(SHARD_GLOB)) + markers:
        if p.exists():
            p.unlink()
            n += p.name.startswith("shard-")
    remove_stale_tmp(gen_dir)
    return n


def remove_stale_tmp(gen_dir: Path) -> None:
    """A run killed mid-write (kill -9) can leave ``.shard-*.tmp`` files; they are never valid data."""
    for p in Path(gen_dir).glob(".shard-*.tmp*"):
        with contextlib.suppress(OSError):
            p.unlink()


@contextlib.contextmanager
def model_lock(gen_dir: Path) -> Iterator[None]:
    """Only one process may generate for a model at a time (released automatically if it dies)."""
    gen_dir = Path(gen_dir)
    gen_dir.mkdir(parents=True, exist_ok=True)
    fh = open(gen_dir / LOCK, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DDCFError(
                f"Another process is generating into {gen_dir} right now.",
                "wait for it to finish (or stop it); two runs for one model would overwrite each other.",
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
