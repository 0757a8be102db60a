"""train_correctness_predictor.py / ddcf predictor: --help, --config, the resolved config, bad values."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import predictor_synth as S
import pytest
import yaml

from ddcf.cli import main as ddcf_main
from ddcf.cli import run_main
from ddcf.layout import Layout
from ddcf.predictor.cli import command
from ddcf.predictor.config import PredictorConfig

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "train_correctness_predictor.py"
QUICK = ["--arch", "paper", "--epochs", "2", "--threads", "1", "--device", "cpu", "--no_progress", "--no_plot"]


def test_help_lists_every_option_and_needs_no_torch():
    r = subprocess.run([sys.executable, SCRIPT, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    for f in dataclasses.fields(PredictorConfig):
        assert f"--{f.name}" in r.stdout, f.name
    assert "--config" in r.stdout and "{auto,temperature,none}" in r.stdout and "(default: 1028)" in r.stdout
    # building the parser imports nothing heavy, so --help stays instant
    code = "import sys, ddcf.predictor.cli as c; c.build_parser(); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "False", r.stderr


def test_ddcf_predictor_is_the_same_command(capsys):
    with pytest.raises(SystemExit) as exc:
        ddcf_main(["predictor", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "ddcf predictor" in out and "--noise_prefetch" in out


def test_config_file_and_flags_override_it(tmp_path):
    cfg = tmp_path / "p.yaml"
    cfg.write_text("arch: paper\nepochs: 3\nlr: 0.02\ndrop_path: 0.1\nno_plot: true\n")
    config = command.parse(["--config", str(cfg), "--epochs", "5"])
    assert config.epochs == 5 and config.lr == 0.02 and config.drop_path == 0.1 and config.no_plot
    assert config.batch_size == 1028  # untouched options keep their defaults


@pytest.mark.parametrize("argv,name", [(["--dropout", "1.5"], "--dropout"), (["--drop_path", "1"], "--drop_path"),
                                       (["--schedule", "linear"], "--schedule"), (["--device", "tpu"], "--device"),
                                       (["--epochs", "0"], "--epochs"), (["--calibration", "platt"], "--calibration")])
def test_bad_values_exit_2_naming_the_option(tmp_path, capsys, argv, name):
    try:
        code = run_main(command.main, ["--workdir", str(tmp_path)] + argv)
    except SystemExit as exc:  # a value outside a flag's choices is rejected by argparse, also with exit 2
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and name in err and "Traceback" not in err


def test_bad_value_in_config_file_names_the_key(tmp_path, capsys):
    cfg = tmp_path / "p.yaml"
    cfg.write_text("epocks: 3\n")
    assert run_main(command.main, ["--config", str(cfg)]) == 2
    assert "epocks" in capsys.readouterr().err


def test_resolved_config_is_written_and_repeats_the_run(tmp_path, capsys):
    layout = Layout(tmp_path / "w")
    S.build(layout, n_models=3, n_questions=60)
    assert run_main(command.main, ["--workdir", str(layout.root), "--seed", "7"] + QUICK) == 0
    resolved = layout.resolved_config(layout.predictor_dir, "predictor")
    assert resolved == layout.predictor_dir / "predictor.config.yaml" and resolved.exists()
    assert str(resolved) in capsys.readouterr().out
    values = yaml.safe_load(resolved.read_text())
    assert values["seed"] == 7 and values["epochs"] == 2 and values["no_plot"] is True
    assert "workdir" not in values and "no_progress" not in values
    first = command.parse(["--workdir", str(layout.root)] + QUICK + ["--seed", "7"])
    again = command.parse(["--config", str(resolved), "--workdir", str(layout.root), "--no_progress"])
    assert again == first
