"""Command line of ``ddcf pull predictor REPO``."""

from __future__ import annotations

from ddcf.pipeline import StageCommand
from ddcf.pull.config import PullConfig

command = StageCommand(stage="pull", config=PullConfig, run="ddcf.pull.stage:run", prog="ddcf pull predictor REPO")
main = command.main
build_parser = command.build_parser
