"""``ddcf verify`` / ``infer.py --completions PATH``: the verify stage's command line.

Options: :mod:`ddcf.verify.config`; the work: :mod:`ddcf.verify.stage`.
"""

from ddcf.pipeline import StageCommand
from ddcf.verify.config import VerifyConfig

command = StageCommand(stage="verify", config=VerifyConfig, run="ddcf.verify.stage:run", prog="infer.py")
main = command.main
build_parser = command.build_parser
