"""``ddcf compare`` / ``eval/compare.py RUN_DIR...`` (options: compare_config.py)."""

from ddcf.evaluate.compare_config import CompareConfig
from ddcf.pipeline import StageCommand

command = StageCommand(stage="compare", config=CompareConfig, run="ddcf.evaluate.compare_stage:run",
                       prog="eval/compare.py")
main = command.main
build_parser = command.build_parser
