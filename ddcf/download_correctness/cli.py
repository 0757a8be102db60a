"""Command line of stage 0' (download_binary_correctness_from_hf.py, ``ddcf download-correctness``)."""

from __future__ import annotations

from ddcf.download_correctness.config import DownloadCorrectnessConfig
from ddcf.pipeline import StageCommand

command = StageCommand(stage="download_correctness", config=DownloadCorrectnessConfig,
                       run="ddcf.download_correctness.stage:run", prog="download_binary_correctness_from_hf.py")
main = command.main
build_parser = command.build_parser
