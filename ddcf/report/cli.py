"""Command line of ``ddcf report``: derived from :class:`ReportConfig`."""

from __future__ import annotations

from ddcf.pipeline import StageCommand
from ddcf.report.config import ReportConfig

command = StageCommand(stage="report", config=ReportConfig, run="ddcf.report.stage:run",
                       prog="ddcf report SELECTION_DIR...")
main = command.main
build_parser = command.build_parser
