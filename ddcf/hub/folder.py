"""Copying artifacts into a push's staging folder (which :func:`ddcf.io.atomic_dir` swaps in as a whole)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def copy_into(src: str | os.PathLike, folder: Path, name: str | None = None) -> Path:
    """Copy a file or a folder into ``folder`` (under ``name``); returns the new path."""
    src = Path(src)
    dest = folder / (name or src.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest)
    else:
        shutil.copy2(src, dest)
    return dest
