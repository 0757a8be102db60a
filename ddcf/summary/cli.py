"""Command line of the run summary (``python -m ddcf.summary``, ``ddcf summary``): derived from
:class:`SummaryConfig`."""

from __future__ import annotations

from ddcf.pipeline import StageCommand
from ddcf.summary.config import SummaryConfig

command = StageCommand(stage="summary", config=SummaryConfig, run="ddcf.summary.stage:run",
                       prog="python -m ddcf.summary")
main = command.main
build_parser = command.build_parser
