"""Command line of ``ddcf probe plan|fit|budget``: derived from :class:`ProbeConfig`."""

from __future__ import annotations

from ddcf.pipeline import StageCommand
from ddcf.probe.config import ProbeConfig

command = StageCommand(stage="probe", config=ProbeConfig, run="ddcf.probe.stage:run", prog="ddcf probe")
main = command.main
build_parser = command.build_parser
