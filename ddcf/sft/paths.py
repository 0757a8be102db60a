"""Every path of one select -> SFT -> eval run, from the Layout, as shell assignments for train/run.sh.

    eval "$(python -m ddcf.sft.paths --workdir W --model_name TARGET --lamda 0.2 --num_select 1000)"

Prints SELECTION_DIR, DATASET_DIR, SELECTION_REPORT, SFT_DIR, SFT_REPORT, EVAL_DIR and EVAL_RESULTS
(shell-quoted), so the
script never spells a path itself.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Sequence

from ddcf.layout import Layout


def run_paths(layout: Layout, model: str, lamda: float, k: int) -> dict[str, str]:
    sel = layout.selection_dir(model, lamda, k)
    sft = layout.sft_dir(model, lamda, k)
    return {"SELECTION_DIR": str(sel), "DATASET_DIR": str(layout.selection_dataset(sel)),
            "SELECTION_REPORT": str(layout.selection_report(sel)), "SFT_DIR": str(sft),
            "SFT_REPORT": str(layout.sft_report(sft)), "EVAL_DIR": str(layout.sft_eval_dir(sft)),
            "EVAL_RESULTS": str(layout.eval_results(layout.sft_eval_dir(sft), "json"))}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ddcf.sft.paths", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--model_name", required=True)
    parser.add_argument("--lamda", type=float, required=True)
    parser.add_argument("--num_select", type=int, required=True)
    a = parser.parse_args(argv)
    for key, value in run_paths(Layout.from_arg(a.workdir), a.model_name, a.lamda, a.num_select).items():
        print(f"{key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
