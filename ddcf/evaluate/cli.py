"""``ddcf evaluate`` / ``eval/evaluate.py``: the evaluation stage's command line (options: config.py)."""

from ddcf.evaluate.config import EvaluateConfig
from ddcf.pipeline import StageCommand

command = StageCommand(stage="evaluate", config=EvaluateConfig, run="ddcf.evaluate.stage:run",
                       prog="eval/evaluate.py")
main = command.main
build_parser = command.build_parser
