"""Command line of ``ddcf score``: derived from :class:`ScoreConfig`."""

from __future__ import annotations

from ddcf.pipeline import StageCommand
from ddcf.score.config import ScoreConfig

command = StageCommand(stage="score", config=ScoreConfig, run="ddcf.score.stage:run", prog="ddcf score")
main = command.main
build_parser = command.build_parser
