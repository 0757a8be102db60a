"""Command line of ``ddcf distill``: derived from :class:`DistillConfig`."""

from __future__ import annotations

from ddcf.distill.config import DistillConfig
from ddcf.pipeline import StageCommand

command = StageCommand(stage="distill", config=DistillConfig, run="ddcf.distill.stage:run",
                       prog="ddcf distill SELECTION_DIR --teacher M")
main = command.main
build_parser = command.build_parser
