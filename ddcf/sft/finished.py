"""Is an SFT output folder's finished run the one these options ask for?  Used by ``train/sft.py`` before it
skips a finished run, and by ``train/run.sh`` (``python -m ddcf.sft.finished <train/sft.py options>``) before it
skips the fine-tuning step, so a rerun with another model, other data or other options never reports an earlier
run's model as its own.

The request is keyed like ``infer.py``'s run config: every option that changes the trained weights, the training
data's path and a SHA-256 of its files (a selection made again in the same folder is other data).  A finished run
made with other settings is refused, naming the settings that differ and the two ways on (--overwrite, or another
--output_dir); it is never silently replaced, because it may have cost GPU-days.  Imports nothing heavy.

Exit codes of the command: 0 finished with these settings (skip), 3 not finished (train), 2 finished with other
settings (the message says which).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Sequence

from ddcf.artifacts import sft_run
from ddcf.errors import DDCFError
from ddcf.layout import Layout
from ddcf.sft.cli import command
from ddcf.sft.config import SFTConfig
from ddcf.sft.paths import config_paths

#: options that change what is trained (a resume or a skip must match them all)
WEIGHT_KEYS = ("model_name", "max_length", "learning_rate", "per_device_train_batch_size", "warmup_ratio",
               "weight_decay", "adam_beta1", "adam_beta2", "lr_scheduler_type", "use_peft", "lora_r", "lora_alpha",
               "lora_dropout", "lora_target_modules", "seed", "rope_extension", "chat_template")
#: options that change the schedule; the checkpoints record the resolved schedule instead
SCHEDULE_KEYS = ("num_train_epochs", "max_steps", "gradient_accumulation_steps", "bf16")

NOT_FINISHED = 3


def data_sha256(path: Path) -> str:
    """SHA-256 of a saved dataset folder's files (names and bytes), or of the file itself."""
    path = Path(path)
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        digest.update(str(f.relative_to(path) if f != path else f.name).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def request(config: SFTConfig, train_path: Path) -> dict:
    """What a finished run must have been trained with for these options to reuse it."""
    out = {k: getattr(config, k) for k in (*WEIGHT_KEYS, *SCHEDULE_KEYS)}
    out.update(train_file_path=str(Path(train_path).resolve()),
               train_data_sha256=data_sha256(train_path) if Path(train_path).exists() else None)
    return out


def differences(saved: dict, now: dict) -> list[str]:
    return [f"{k}: {saved[k]!r} then, {now[k]!r} now" for k in sorted(now) if k in saved and saved[k] != now[k]]


def check_finished(out: Path, config: SFTConfig, train_path: Path) -> dict | None:
    """The report of ``out``'s finished run when it matches ``config``; None when no run finished there.
    Raises DDCFError when the finished run had other settings."""
    if not sft_run.finished(out):
        return None
    previous = sft_run.read_report(out)
    now = request(config, train_path)
    saved = previous.get("settings")
    if not isinstance(saved, dict):
        # a report written before settings were recorded: the model and the data path are all it says
        saved = {"model_name": previous.get("model_name"),
                 "train_file_path": str(Path(str(previous.get("train_file_path"))).resolve())}
    diff = differences(saved, now)
    if diff:
        shown = "; ".join(d if len(d) < 160 else d[:157] + "..." for d in diff[:6])
        raise DDCFError(
            f"{out} already holds a finished fine-tune made with other settings ({shown}); it is not reused for "
            "this run and not replaced.",
            "pass --overwrite to train again in that folder (the finished model there is deleted), or another "
            "--output_dir (train/run.sh: another SFT_MODEL gets its own folder; other options need --overwrite).")
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    config = command.parse(argv, "python -m ddcf.sft.finished")
    train_path, out = config_paths(Layout.from_arg(config.workdir), config)
    if config.overwrite:
        return NOT_FINISHED
    previous = check_finished(out, config, train_path)
    if previous is None:
        return NOT_FINISHED
    print(f"   done before: skipped ({out} holds a finished run with the same settings and data: "
          f"{previous.get('steps', '?')} steps, final loss {previous.get('final_loss', '?')}; --overwrite trains "
          "again)")
    return 0


if __name__ == "__main__":
    from ddcf.cli import run_main

    sys.exit(run_main(main))
