"""Seed/benchmark overlap: a model fine-tuned on a selection made from benchmark questions is no clean result.

The DDCF selection is driven by the correctness of seed models on *seed questions*; the bundled seed set is
GSM8K test (and MATH Level-5 test, which overlaps MATH500).  Two sources of seed questions are checked against
each benchmark's problem texts (compared case- and whitespace-insensitively):

* the SFT provenance in the model folder: ``ddcf_sft.json`` (keys ``train_file_path`` or ``selection_dir``)
  or ``sft.config.yaml`` (the resolved options the SFT stage writes, key ``train_file_path``), in the folder or
  its parent (a checkpoint-N folder); the training data's work directory is the folder above its
  ``DDCF_data/``, whose ``DDCF_data/seed/questions.parquet`` holds the seed questions;
* the seed questions of ``--workdir`` (when that file exists).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ddcf.errors import DDCFError
from ddcf.io import read_side_file
from ddcf.layout import Layout

PROVENANCE_FILES = ("ddcf_sft.json", "sft.config.yaml")
_WS = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _WS.sub(" ", str(text)).strip().casefold()


def training_data_path(model: str) -> tuple[Path, Path] | None:
    """(provenance file, training data path) from an SFT output folder, or None."""
    folder = Path(model)
    if not folder.is_dir():
        return None
    for d in (folder, folder.parent):
        for name in PROVENANCE_FILES:
            p = d / name
            if not p.is_file():
                continue
            try:
                data = read_side_file(p, "training provenance", "-", expect=dict)
            except DDCFError:  # unreadable provenance: nothing to warn about
                continue
            if isinstance(data, dict):
                for key in ("train_file_path", "selection_dir"):
                    if isinstance(data.get(key), str):
                        return p, Path(data[key])
    return None


def seed_file_of(train_path: Path) -> Path | None:
    """``<workdir>/DDCF_data/seed/questions.parquet`` of a path inside a work directory."""
    for parent in [train_path, *train_path.parents]:
        if parent.name == "DDCF_data":
            seed = Layout(parent.parent).seed_questions
            return seed if seed.is_file() else None
    return None


def seed_sources(model: str, layout: Layout) -> list[tuple[str, Path]]:
    """(why, seed question file) pairs to check."""
    out = []
    prov = training_data_path(model)
    if prov is not None:
        seed = seed_file_of(prov[1])
        if seed is not None:
            out.append((f"it was fine-tuned ({prov[0]}) on {prov[1]}, a selection made with the seed questions "
                        f"{seed}", seed))
    if layout.seed_questions.is_file() and all(s != layout.seed_questions for _, s in out):
        out.append((f"if it was fine-tuned on a selection made in this work directory, whose seed questions are "
                    f"{layout.seed_questions}", layout.seed_questions))
    return out


def overlap_warnings(model: str, layout: Layout, questions: dict[str, pd.Series], columns: dict[str, str]
                     ) -> tuple[list[str], dict[str, int]]:
    """Warnings and, per benchmark, how many of its questions are seed questions."""
    warnings, counts = [], {}
    for why, seed in seed_sources(model, layout):
        try:
            seeds = {_norm(q) for q in pd.read_parquet(seed, columns=["question"])["question"]}
        except Exception:  # noqa: BLE001 - a broken seed file is the selection stages' problem, not ours
            continue
        for name, qs in questions.items():
            n = int(sum(_norm(q) in seeds for q in qs))
            if n:
                counts[name] = max(counts.get(name, 0), n)
                warnings.append(f"{n} of the {len(qs)} {columns[name]} questions evaluated are seed questions: "
                                f"{why}. Do not report {model}'s {columns[name]} result as clean (marked † in "
                                "the table).")
    return warnings, counts
