"""Command line of ``ddcf push matrix|predictor|selection``."""

from __future__ import annotations

from ddcf.pipeline import StageCommand
from ddcf.push.config import PushConfig

command = StageCommand(stage="push", config=PushConfig, run="ddcf.push.stage:run",
                       prog="ddcf push matrix|predictor|selection")
main = command.main
build_parser = command.build_parser
