"""Reading selection folders back, and the check that they were all made on the corpus of the work directory.

Every selector writes the same folder (``ddcf select --method NAME``): selection.parquet (question_id, rank,
predicted_correctness, ...; its Parquet metadata records the inputs), report.json and select.config.yaml.
report.json's ``method`` names the selector; folders written before there were several selectors hold the
k-greedy engine's name there (``fast``, ``reference``, ``torch-cuda``), read as ``ddcf``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.artifacts import difficulty
from ddcf.artifacts import selection as selection_files
from ddcf.artifacts.selection import COLUMN
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.layout import Layout
from ddcf.select.methods import DEFAULT_METHOD, get_method

KGREEDY_ENGINES = ("fast", "reference")  # + "torch-<device>": the engine names older report.json files hold
CORPUS_KEY = "corpus_embeddings_ids_sha256"


@dataclass
class Selection:
    folder: Path
    model: str
    method: str
    k: int
    lamda: float | None
    max_score: float
    table: pd.DataFrame  # the selection.parquet rows, rank order
    report: dict
    meta: dict
    options: dict = field(default_factory=dict)  # select.config.yaml: the options it was made with
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # corpus embedding rows, rank order
    label: str = ""

    @property
    def ids(self) -> list[str]:
        return self.table["question_id"].tolist()


def method_of(report: dict) -> str:
    """The selector's registry name; folders from before there were several record none, or the k-greedy
    engine's name: they were made by the registry's default method."""
    m = str(report.get("method") or DEFAULT_METHOD)
    return DEFAULT_METHOD if m in KGREEDY_ENGINES or m.startswith("torch-") else m


def read_selection(folder: str | Path) -> Selection:
    fix = "pass a folder written by `ddcf select` (it holds selection.parquet and report.json)."
    files = selection_files.read_selection(folder, fix)  # the one reader: table, report.json, options
    report, meta = files.report, files.meta
    model = report.get("model") or meta.get("model")
    if not model:
        raise DDCFError(f"The selection in {files.folder} does not record its target model (report.json 'model').",
                        fix)
    lamda = report.get("lamda", meta.get("lamda"))
    return Selection(options=files.options,
        folder=files.folder, model=str(model), method=method_of(report or meta), k=len(files.table),
        lamda=None if lamda is None else float(lamda), max_score=float(report.get("max_score", 1.0)),
        table=files.table, report=report, meta={**(report.get("inputs") or {}), **meta},
    )


def attach_rows(selections: list[Selection], emb_ids: list[str], manifest: dict, emb_path: Path) -> None:
    """Map each selection's ids to rows of the corpus embeddings; refuse selections of another corpus."""
    fix = ("report on selections made on one corpus, from the work directory they were made in (--workdir); "
           "make separate reports for different corpora.")
    recorded = {s.folder: s.meta.get(CORPUS_KEY) for s in selections}
    known = {h for h in recorded.values() if h}
    if len(known) > 1:
        groups = {h: [str(f) for f, v in recorded.items() if v == h] for h in known}
        detail = "; ".join(f"{', '.join(fs)} (corpus ids {h[:12]})" for h, fs in groups.items())
        raise InputMismatchError(f"The selections were made on different corpora: {detail}.", fix)
    current = manifest.get("question_ids_sha256")
    if known and current and known != {current}:
        raise InputMismatchError(
            f"The selections were made on a corpus (ids {next(iter(known))[:12]}) other than the one of the "
            f"corpus embeddings {emb_path} (ids {current[:12]}).", fix)
    index = {q: i for i, q in enumerate(emb_ids)}
    for s in selections:
        missing = [q for q in s.ids if q not in index]
        if missing:
            raise InputMismatchError(
                f"{len(missing):,} of the {s.k:,} questions of the selection {s.folder} are not in the corpus "
                f"embeddings {emb_path} (e.g. {', '.join(missing[:3])}): it was made on another corpus, or it "
                "selects seed questions (binary_hard, passrate_band on measured pass rates), which have no "
                "place on the corpus map.", fix)
        s.rows = np.fromiter((index[q] for q in s.ids), dtype=np.int64, count=s.k)


def label_selections(selections: list[Selection]) -> None:
    """Short unique labels: 'model · method', with k / lambda / folder added only where needed to tell apart."""
    base = [f"{s.model} · {method_label(s)}" for s in selections]
    for s, b in zip(selections, base):
        s.label = b
        if base.count(b) > 1:
            s.label = f"{b} · k={s.k}" + (f" λ={s.lamda:g}" if s.lamda is not None else "")
    labels = [s.label for s in selections]
    for s in selections:
        if labels.count(s.label) > 1:
            s.label = f"{s.label} · {s.folder.name}"
    if len({s.label for s in selections}) < len(selections):
        raise DDCFError("The same selection folder was given twice.", "pass each selection folder once.")


def registry_field(method: str, name: str, default):
    """A field of the method's registry entry (``ddcf.select.methods``), or ``default`` for a method that is
    not registered here (a selection made by a newer or external selector) or a field it does not have."""
    try:
        return getattr(get_method(method), name, default)
    except DDCFError:
        return default


def method_label(sel: Selection) -> str:
    """The method's short display name: recorded by the selection (report.json ``method_label``), else the
    registry's ``label``, else the method's own name (a selector unknown here)."""
    own = sel.report.get("method_label")
    return own if isinstance(own, str) and own.strip() else str(registry_field(sel.method, "label", sel.method))


def method_caption(sel: Selection) -> str:
    """One phrase saying what the method did, from the registry (``caption``, else ``inputs``)."""
    return str(registry_field(sel.method, "caption", None) or registry_field(sel.method, "inputs", "")
               or "a selector not registered here")


def predicted_for(layout: Layout, model: str, emb_ids: list[str]) -> np.ndarray | None:
    """The target's predicted correctness of every corpus row (NaN where unknown), or None without the table."""
    if not difficulty.exists(layout, model):
        return None
    df, _, _ = difficulty.read_difficulty(layout, model)  # validated: this model's, unique ids, values in [0, 1]
    s = pd.Series(df[COLUMN].to_numpy(np.float64), index=df["question_id"])
    return s.reindex(emb_ids).to_numpy(np.float64)
