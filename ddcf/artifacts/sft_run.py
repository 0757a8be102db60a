"""A fine-tuning run's folder, ``DDCF_data/sft/<model>/<run>/`` (stage 7, ``ddcf sft`` / train/run.sh).

``sft_run_config.json`` (the settings its checkpoints were trained with: a resume must match them),
``checkpoint-N/``, the fine-tuned model in the folder itself, and ``sft_report.json`` (written last: its
presence means the run finished; it records the settings, losses and time).  Readers: :func:`read_report`,
:func:`read_run_config`; writers: :func:`write_report`, :func:`write_run_config`.
"""

from __future__ import annotations

from pathlib import Path

from ddcf.io import read_side_file, write_json
from ddcf.layout import Layout

FIX = "rerun with --overwrite"


def report_path(run_dir: Path) -> Path:
    return Layout.sft_report(run_dir)


def run_config_path(run_dir: Path) -> Path:
    return Layout.sft_run_config(run_dir)


def finished(run_dir: Path) -> bool:
    return report_path(run_dir).is_file()


def read_report(run_dir: Path, fix: str = FIX) -> dict:
    """The finished run's report (a JSON object)."""
    return read_side_file(report_path(run_dir), "the report of the finished run", fix)


def read_run_config(run_dir: Path, fix: str = FIX) -> dict:
    """The settings the run's checkpoints were trained with (a JSON object)."""
    return read_side_file(run_config_path(run_dir), "the settings of the checkpoints", fix)


def write_report(report: dict, run_dir: Path) -> Path:
    return write_json(report, report_path(run_dir))


def write_run_config(settings: dict, run_dir: Path) -> Path:
    return write_json(settings, run_config_path(run_dir))
