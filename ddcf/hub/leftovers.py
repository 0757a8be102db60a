"""Debris of killed downloads: every table a download writes goes through :func:`ddcf.io.atomic_path`, so a kill
leaves no partial table under the final name (a rerun can never take one for complete), only a hidden
``.<name>.<pid>.<random>.tmp`` file beside it.  That file used to stay until the next write of the same table;
a download now sweeps the folders it writes at its start, for every table name, with the same staleness rule
as the writer (:func:`ddcf.io.is_stale`: its writer gone and unchanged for a while, so a concurrent download's
live file is kept).
"""

from __future__ import annotations

import os

from ddcf.io import remove_stale_temps


def clean_leftovers(*folders: str | os.PathLike) -> list[str]:
    """Remove stale temporary files in ``folders``; a warning line naming what went, or none."""
    removed = [p for folder in dict.fromkeys(map(str, folders)) for p in remove_stale_temps(folder)]
    if not removed:
        return []
    names = ", ".join(p.name for p in removed[:3]) + (" ..." if len(removed) > 3 else "")
    return [f"removed {len(removed)} temporary file(s) left by a killed earlier download ({names})."]
