"""Every path of one select -> SFT -> eval run, from the Layout, as shell assignments for train/run.sh.

    eval "$(python -m ddcf.sft.paths --workdir W --model_name TARGET --lamda 0.2 --num_select 1000)"

Prints SELECTION_DIR, DATASET_DIR, SELECTION_REPORT, SFT_DIR, SFT_REPORT, EVAL_DIR and EVAL_RESULTS
(shell-quoted), so the script never spells a path itself.  With ``--sft_model M`` other than the target, the
fine-tune (and its evaluation) gets its own folder (:func:`sft_output_dir`), so two SFT models of one selection
never share checkpoints, a finished model or results.
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
from pathlib import Path
from typing import Sequence

from ddcf.layout import Layout
from ddcf.names import safe_name
from ddcf.sft.config import SFTConfig


def sft_output_dir(layout: Layout, target: str, sft_model: str | None, lamda: float, k: int) -> Path:
    """DDCF_data/sft/<target>/lamda<l>_k<k> when the fine-tuned model is the target itself (the reference's
    layout), else a sibling lamda<l>_k<k>__<sft model>: a Hub id by its injective safe name, a local folder by
    its name and 8 hex digits of the SHA-1 of its resolved path (two folders named alike stay apart)."""
    base = layout.sft_dir(target, lamda, k)
    if not sft_model or sft_model == target:
        return base
    local = Path(sft_model).expanduser()
    if local.exists():
        label = f"{safe_name(local.resolve().name or 'model')}-" \
                f"{hashlib.sha1(str(local.resolve()).encode()).hexdigest()[:8]}"
    else:
        label = safe_name(sft_model)
    return base.with_name(f"{base.name}__{label}")


def config_paths(layout: Layout, config: SFTConfig) -> tuple[Path, Path]:
    """(training dataset folder, output folder) of the run an SFT config describes."""
    model = config.selection_model or config.model_name
    if config.train_file_path:
        return Path(config.train_file_path), Path(config.output_dir)
    run_dir = layout.selection_dir(model, config.lamda, config.num_select)
    out = Path(config.output_dir) if config.output_dir else \
        sft_output_dir(layout, model, config.model_name, config.lamda, config.num_select)
    return layout.selection_dataset(run_dir), out


def run_paths(layout: Layout, model: str, lamda: float, k: int, sft_model: str | None = None) -> dict[str, str]:
    sel = layout.selection_dir(model, lamda, k)
    sft = sft_output_dir(layout, model, sft_model, lamda, k)
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
    parser.add_argument("--sft_model", default=None, help="model fine-tuned (default: --model_name)")
    a = parser.parse_args(argv)
    paths = run_paths(Layout.from_arg(a.workdir), a.model_name, a.lamda, a.num_select, a.sft_model)
    for key, value in paths.items():
        print(f"{key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
