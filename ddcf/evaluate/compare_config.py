"""Options of ``eval/compare.py`` / ``ddcf compare``: several evaluation runs -> one Table 2 and a bar chart."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError


@dataclass
class CompareConfig(StageConfig):
    """Gather evaluation runs (base model, random subset, DDCF subset, ...) into one table, best per column in
    bold, and a bar chart."""

    runs: list[str] = option(
        [], "Evaluation run folders (the --output_dir of eval/evaluate.py, each holding results.json).",
        positional=True, required=True, metavar="RUN_DIR")
    labels: list[str] = option([], "Row names, one per run (default: each run folder's name).", metavar="NAMES")
    output_dir: str | None = option(
        None, "Where to write comparison.md/.csv/.png (default: DDCF_data/eval/compare/ in the work directory).",
        metavar="DIR")

    def check(self) -> None:
        if not self.runs:
            raise DDCFError("No run folders given.", "pass one or more RUN_DIR (the --output_dir of evaluate.py).")
        if self.labels and len(self.labels) != len(self.runs):
            raise DDCFError(f"--labels names {len(self.labels)} run(s) but {len(self.runs)} run folder(s) are "
                            "given.", "give one label per run folder, in the same order, or drop --labels.")
