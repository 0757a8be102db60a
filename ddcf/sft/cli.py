"""Command line of stage 7 (train/sft.py, ``ddcf sft``): derived from :class:`ddcf.sft.config.SFTConfig`."""

from __future__ import annotations

from ddcf.pipeline import StageCommand
from ddcf.sft.config import SFTConfig

command = StageCommand(stage="sft", config=SFTConfig, run="ddcf.sft.stage:run", prog="train/sft.py")
main = command.main
build_parser = command.build_parser
