"""Helpers shared by the top-level scripts: error handling and common options."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from ddcf.errors import DDCFError


def add_workdir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workdir",
        default=None,
        help="Work directory holding DDCF_data/ and factorized_data/ "
        "(default: $DDCF_WORKDIR, else the current directory).",
    )


def run_main(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run a stage's ``main``; a :class:`DDCFError` becomes a one-paragraph message and exit code 2."""
    try:
        code = main(argv)
    except DDCFError as exc:
        prog = sys.argv[0].rsplit("/", 1)[-1] if sys.argv and sys.argv[0] else "ddcf"
        print(f"\nerror ({prog}): {exc.render()}\n", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished work is saved; rerun the same command to resume.", file=sys.stderr)
        return 130
    return int(code or 0)
