"""``ddcf passrate`` / ``python -m ddcf.generate.passrate``: pass-rate difficulty buckets per model."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.pipeline import StageCommand


@dataclass
class PassrateConfig(StageConfig):
    """Print the pass-rate difficulty buckets (impossible ... perfect) of each model.

    Reads DDCF_data/verdicts/<model>.passrate.parquet (made by infer.py --n K --temperature T)."""

    models: list[str] = option(
        [], "Model names, comma- or space-separated (default: every model with a pass-rate table).",
        metavar="MODEL",
    )


command = StageCommand(stage="passrate", config=PassrateConfig, run="ddcf.generate.passrate:run",
                       prog="python -m ddcf.generate.passrate")
main = command.main
build_parser = command.build_parser
