"""The distill paths of a selection folder, as shell assignments for train/run.sh (from the Layout).

    eval "$(python -m ddcf.distill.paths SELECTION_DIR)"   # DISTILLED_DATASET, DISTILL_REPORT
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ddcf.layout import Layout


def main(argv=None) -> int:
    sel = Path((argv if argv is not None else sys.argv[1:])[0])
    for key, value in (("DISTILLED_DATASET", Layout.distill_dataset(sel)),
                       ("DISTILL_REPORT", Layout.distill_report(sel))):
        print(f"{key}={shlex.quote(str(value))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
