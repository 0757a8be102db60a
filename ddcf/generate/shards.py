"""Stage 1's run folder (``Layout.generations(model)``): the shard store of :mod:`ddcf.runs.folder`, plus::

    verified.json         written after the verdict table: which config and which file
    run_summary.json      wall time, tokens, tokens/s, length/budget report

(all three paths named by :class:`ddcf.layout.Layout`).  Shards, markers, the lock and the resume check are the
run toolkit's (:mod:`ddcf.runs`); the names below are kept for this stage's callers.
"""

from __future__ import annotations

from pathlib import Path

from ddcf.layout import Layout
from ddcf.runs.folder import (  # noqa: F401 - the run toolkit's shard store, used under these names here
    SHARD_GLOB,
    ShardPlan,
    clear_run,
    read_shards,
    remove_stale_tmp,
    shard_metadata,
    shard_path,
)
from ddcf.runs.folder import run_lock as model_lock  # noqa: F401
from ddcf.runs.shard import SHARD_COLUMNS  # noqa: F401


def stage_files(layout: Layout, model: str) -> list[Path]:
    """The files this stage makes from a model's shards: deleted with them by ``--overwrite``."""
    return [layout.generation_verified(model), layout.generation_summary(model), layout.verdicts(model),
            layout.passrates(model)]
