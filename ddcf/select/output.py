"""A selection folder: which names it holds, where it goes, and the check that it may be replaced.

A selection is several files (selection.parquet, dataset/, report.json, report.png, select.config.yaml) that
only make sense together, so a run builds them whole and swaps the folder in with :func:`ddcf.io.atomic_dir`
(the one folder swap; readers use :func:`ddcf.io.current_dir`).
"""

from __future__ import annotations

import os
from pathlib import Path

from ddcf.errors import DDCFError
from ddcf.layout import Layout
from ddcf.select.methods import get_method

RESOLVED_CONFIG = "select.config.yaml"


def run_entries() -> set[str]:
    """The names a selection folder holds (all from the Layout, plus the resolved config)."""
    here = Path(".")
    return {Layout.selection_table(here).name, Layout.selection_dataset(here).name,
            Layout.selection_report(here).name, Layout.selection_plot(here).name,
            Layout.resolved_config(here, "select").name}


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


def selection_folder(layout: Layout, config) -> Path:
    """Where a run's selection goes: --output_dir, else lamda<l>_k<k> for the k-greedy (existing runs, the summary
    and `ddcf push` keep their paths) and <method>_k<k>[_<tag>] (the registry entry's tag) for the others."""
    if config.output_dir:
        return Path(config.output_dir)
    entry = get_method(config.method)
    if entry.kgreedy:
        out = layout.selection_dir(config.model_name, config.lamda, config.num_select, config.redundancy)
        if getattr(config, "stability", "none") != "none":  # issue 23: never replaces the default's folder
            out = out.with_name(f"{out.name}_{config.stability}{config.consensus_draws}")
        return out
    return layout.selection_method_dir(config.model_name, config.method, config.num_select, entry.folder_tag(config))
