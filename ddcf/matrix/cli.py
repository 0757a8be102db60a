"""Command line of stage 2 (create_training_data.py, ``ddcf matrix``)."""

from __future__ import annotations

from ddcf.matrix.config import MatrixConfig
from ddcf.pipeline import StageCommand

command = StageCommand(stage="matrix", config=MatrixConfig, run="ddcf.matrix.stage:run", prog="create_training_data.py")
main = command.main
build_parser = command.build_parser
