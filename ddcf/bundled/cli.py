"""Command line of the bundled-data install (scripts/install_bundled_data.py, ``ddcf install-bundled``)."""

from __future__ import annotations

from ddcf.bundled.config import InstallConfig
from ddcf.pipeline import StageCommand

command = StageCommand(stage="install_bundled", config=InstallConfig, run="ddcf.bundled.stage:run",
                       prog="scripts/install_bundled_data.py")
main = command.main
build_parser = command.build_parser
