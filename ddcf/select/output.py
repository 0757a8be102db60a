"""A selection folder changes as one unit: it is built whole in a hidden sibling, then swapped in.

A selection is several files (selection.parquet, dataset/, report.json, report.png, select.config.yaml) that
only make sense together.  Replacing them one by one left, after a kill, a new ``dataset/`` beside the old
table and report, which the summary showed as current.  So a run writes everything into
``.<name>.new-<pid>-<random>/`` next to the folder and then

1. renames the current folder (if any) to ``.<name>.old``,
2. renames the new folder to ``<name>``,
3. deletes ``.<name>.old``.

A kill before step 1 leaves the old folder untouched (plus a hidden ``.new-*`` folder); after step 2 the new
folder is complete; between 1 and 2 only ``.<name>.old`` exists, which readers use (:func:`current_dir`) and the
next run puts back before it starts (:func:`recover`).  Linux cannot rename a folder over a non-empty one, so
the two renames cannot be one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from ddcf.errors import DDCFError
from ddcf.layout import Layout

RESOLVED_CONFIG = "select.config.yaml"


def run_entries() -> set[str]:
    """The names a selection folder holds (all from the Layout, plus the resolved config)."""
    here = Path(".")
    return {Layout.selection_table(here).name, Layout.selection_dataset(here).name,
            Layout.selection_report(here).name, Layout.selection_plot(here).name,
            Layout.resolved_config(here, "select").name}


def old_dir(final: Path) -> Path:
    return final.parent / f".{final.name}.old"


def _new_prefix(final: Path) -> str:
    return f".{final.name}.new-"


def current_dir(final: str | os.PathLike) -> Path:
    """The folder a reader should use: ``final``, or the previous selection a kill left set aside."""
    final = Path(final)
    old = old_dir(final)
    return old if not final.exists() and old.is_dir() else final


def check_replaceable(final: str | os.PathLike, option: str = "--output_dir") -> None:
    """Refuse a target that is a file, or a folder holding anything but a selection (it is replaced whole)."""
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise DDCFError(f"{option} {final} is an existing file, not a folder.",
                        f"pass a folder path for {option} (it is created if missing), or move the file away.")
    if final.is_dir():
        foreign = sorted(p.name for p in final.iterdir() if p.name not in run_entries())
        if foreign:
            raise DDCFError(
                f"{option} {final} holds files that are not part of a selection ({', '.join(foreign[:5])}"
                f"{' ...' if len(foreign) > 5 else ''}); a selection replaces its folder as a whole, so they would "
                "be deleted.",
                f"pass an empty or new folder for {option} (or the folder of an earlier selection).",
            )


def _writer_alive(name: str, prefix: str) -> bool:
    from ddcf.io import pid_alive

    m = re.match(r"(\d+)-", name[len(prefix):])
    pid = int(m.group(1)) if m else -1
    return pid != os.getpid() and pid_alive(pid)


def recover(final: str | os.PathLike) -> None:
    """Undo what a killed run left: put a set-aside previous selection back (or drop it when the new one is
    in place) and delete unfinished ``.new-*`` folders whose writer is gone."""
    final = Path(final)
    old = old_dir(final)
    if old.is_dir():
        if final.exists():
            shutil.rmtree(old)
        else:
            os.replace(old, final)
    prefix = _new_prefix(final)
    if final.parent.is_dir():
        for p in final.parent.iterdir():
            if p.name.startswith(prefix) and p.is_dir() and not _writer_alive(p.name, prefix):
                shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty hidden sibling of ``final`` to write a whole selection into; swap it in on success."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    recover(final)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_new_prefix(final)}{os.getpid()}-", dir=final.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700 folders; the selection is shared like any output folder
    try:
        yield tmp
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, final)


def swap_in(tmp: Path, final: Path) -> None:
    old = old_dir(final)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
