"""``fullcorpus_difficulty_estimation.py`` / ``ddcf difficulty``: the parser is derived from DifficultyConfig."""

from ddcf.difficulty.config import DifficultyConfig
from ddcf.pipeline import StageCommand

command = StageCommand(stage="difficulty", config=DifficultyConfig, run="ddcf.difficulty.stage:run",
                       prog="fullcorpus_difficulty_estimation.py")
main = command.main
build_parser = command.build_parser
