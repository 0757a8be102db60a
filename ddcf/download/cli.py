"""Command line of stage 0 (download_ddcf_math_from_hf.py, ``ddcf download``)."""

from __future__ import annotations

from ddcf.download.config import DownloadConfig
from ddcf.pipeline import StageCommand

command = StageCommand(stage="download", config=DownloadConfig, run="ddcf.download.stage:run",
                       prog="download_ddcf_math_from_hf.py")
main = command.main
build_parser = command.build_parser
