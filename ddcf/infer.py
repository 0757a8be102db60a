"""``infer.py``: stage 1 in one script — per-model verdict tables (was each seed question answered correctly?).

Two stages share one command line:

* ``--completions PATH`` given (on the command line or in the ``--config`` file): the verify
  stage (:mod:`ddcf.verify`) grades those existing completions;
* otherwise the generate stage (:mod:`ddcf.generate`) answers the seed questions with
  ``--model_name`` and grades its answers.

Both run through their :class:`~ddcf.pipeline.StageCommand` (the same ones as ``ddcf verify``
and ``ddcf generate``), so they write their resolved config beside their outputs.  The parser is
the union of both configs, so ``--help`` lists every option of both modes.
"""

from __future__ import annotations

import sys
from typing import Sequence

from ddcf.config import make_config, parse_config
from ddcf.generate.cli import command as generate
from ddcf.generate.config import GenerateConfig
from ddcf.verify.cli import command as verify
from ddcf.verify.config import VerifyConfig

DESCRIPTION = (
    "Stage 1: per-model verdict tables (was each seed question answered correctly?). With --completions, "
    "verify existing completions (the verify stage, also `ddcf verify`); otherwise generate them with the LLM "
    "--model_name first (the generate stage, also `ddcf generate`). The options of both modes follow."
)

REVERIFY_DEPRECATED = (
    "infer.py: warning: --reverify without --completions is deprecated; it now means --regrade (grade the "
    "existing completions of --model_name again, no generation). Use --regrade."
)


def main(argv: Sequence[str] | None = None) -> int:
    _, values = parse_config(GenerateConfig, argv, prog="infer.py", description=DESCRIPTION, extra=(VerifyConfig,))
    if values.get("completions"):
        return verify.execute(make_config(VerifyConfig, values), prog="infer.py")
    if values.get("reverify"):
        # In generation mode --reverify used to mean "grade again, no generation": keep that, say so.
        print(REVERIFY_DEPRECATED, file=sys.stderr)
        values["regrade"] = True
    return generate.execute(make_config(GenerateConfig, values), prog="infer.py")
