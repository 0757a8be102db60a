"""``ddcf generate`` / ``infer.py --model_name M``: the generate stage's command line.

Options: :mod:`ddcf.generate.config`; the work: :mod:`ddcf.generate.stage`.
"""

from ddcf.generate.config import GenerateConfig
from ddcf.pipeline import StageCommand

command = StageCommand(stage="generate", config=GenerateConfig, run="ddcf.generate.stage:run", prog="infer.py")
main = command.main
build_parser = command.build_parser
