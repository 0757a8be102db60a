"""Stage 1's run folder (``Layout.generations(model)``): the shard store of :mod:`ddcf.runs.folder`, plus::

    verified.json         written after the verdict table: which config and which file
    run_summary.json      wall time, tokens, tokens/s, length/budget report

(all three paths named by :class:`ddcf.layout.Layout`).  Shards, markers, the lock and the resume check are the
run toolkit's (:mod:`ddcf.runs.folder`); this module names the stage's own files.
"""

from __future__ import annotations

from pathlib import Path

from ddcf.layout import Layout


def stage_files(layout: Layout, model: str) -> list[Path]:
    """The files this stage makes from a model's shards: deleted with them by ``--overwrite``."""
    return [layout.generation_verified(model), layout.generation_summary(model), layout.verdicts(model),
            layout.passrates(model)]
