"""``train_correctness_predictor.py`` / ``ddcf predictor``: the parser is derived from PredictorConfig."""

from ddcf.pipeline import StageCommand
from ddcf.predictor.config import PredictorConfig

command = StageCommand(stage="predictor", config=PredictorConfig, run="ddcf.predictor.stage:run",
                       prog="train_correctness_predictor.py")
main = command.main
build_parser = command.build_parser
