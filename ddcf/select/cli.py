"""Command line of stage 6 (k_greedy_selection.py, ``ddcf select``): derived from :class:`SelectConfig`."""

from __future__ import annotations

from ddcf.pipeline import StageCommand
from ddcf.select.config import SelectConfig

command = StageCommand(stage="select", config=SelectConfig, run="ddcf.select.stage:run", prog="k_greedy_selection.py")
main = command.main
build_parser = command.build_parser
