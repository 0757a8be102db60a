"""The Trainer's checkpoint-N/ folders in an SFT output folder: which are complete, which to resume from, and
finishing a run whose training had ended before its final save.

A kill while ``checkpoint-N/`` is being written leaves a folder without ``trainer_state.json`` (the Trainer writes
it last, after the weights, optimizer, scheduler and RNG state) or with a truncated one; transformers'
``get_last_checkpoint`` would still pick it and every rerun would die ("Can't find a valid checkpoint").  Such a
folder is moved aside to ``incomplete/`` (kept, not deleted: it may be all that is left of a long run) with a
warning, and the newest complete checkpoint is resumed.  Imports nothing heavy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
INCOMPLETE = "incomplete"
# Written (atomically) right after trainer.train() returns, before the final save: training ended, with this mean
# loss.  A run killed during the final save is finished from its last checkpoint with the same numbers.
TRAINED = "sft_trained.json"
# Files of a checkpoint that are training state, not the model save_model() writes (global_step*/ and "latest"
# are DeepSpeed's; rng_state*.pth one per process).
_STATE_FILES = re.compile(r"^(optimizer\.pt|scheduler\.pt|scaler\.pt|rng_state.*\.pth|trainer_state\.json|"
                          r"training_args\.bin|latest|zero_to_fp32\.py|global_step\d+)$")


def checkpoints(out: Path) -> list[Path]:
    """Every checkpoint-N/ folder of ``out``, newest (largest N) first."""
    if not Path(out).is_dir():
        return []
    found = [p for p in Path(out).iterdir() if p.is_dir() and CHECKPOINT.match(p.name)]
    return sorted(found, key=lambda p: int(CHECKPOINT.match(p.name).group(1)), reverse=True)


def trainer_state(ckpt: Path) -> dict | None:
    """The checkpoint's trainer state, or None when it is missing or truncated (the checkpoint is incomplete)."""
    try:
        state = json.loads((Path(ckpt) / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("global_step"), int) else None


def last_complete(out: Path, *, move_aside: bool, warn=None) -> Path | None:
    """The newest complete checkpoint of ``out``; incomplete ones are moved to ``out/incomplete/`` when
    ``move_aside`` (the main process only: the others just skip them)."""
    found = checkpoints(out)
    complete = [c for c in found if trainer_state(c) is not None]
    last = complete[0] if complete else None
    for ckpt in (c for c in found if c not in complete):
        if not move_aside:
            continue
        dest = _free_name(Path(out) / INCOMPLETE / ckpt.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(ckpt, dest)
        if warn is not None:
            warn(f"{ckpt.name} in {out} is incomplete (no readable {TRAINER_STATE}: the run was killed while "
                 f"saving it); moved it to {dest} and resumed from {last.name if last else 'scratch'}. "
                 f"Delete {dest.parent} when you no longer need it.")
    return last


def _free_name(dest: Path) -> Path:
    n, cand = 1, dest
    while cand.exists():
        cand, n = dest.with_name(f"{dest.name}.{n}"), n + 1
    return cand


def finished_step(ckpt: Path | None, max_steps: int) -> dict | None:
    """The trainer state of ``ckpt`` when training had reached ``max_steps`` there (it ended; only the final save
    and the report were missing), else None."""
    if ckpt is None:
        return None
    state = trainer_state(ckpt)
    return state if state is not None and state["global_step"] >= max_steps else None


def install_model_from(ckpt: Path, out: Path) -> list[Path]:
    """Copy the model files of a final checkpoint into ``out``: what ``trainer.save_model(out)`` would write, since
    the Trainer saves every checkpoint with that same call and no step follows the last one.  Each file is copied
    under a temporary name and renamed, so a kill here leaves whole files only (and no report: it is redone)."""
    written = []
    for src in sorted(Path(ckpt).iterdir()):
        if _STATE_FILES.match(src.name) or not src.is_file():
            continue
        dest = Path(out) / src.name
        tmp = dest.with_name(f".{dest.name}.tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        written.append(dest)
    return written
