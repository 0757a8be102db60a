"""fullcorpus_difficulty_estimation.py / ddcf difficulty: --help, --config, the resolved config, bad values."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ddcf.cli import main as ddcf_main
from ddcf.cli import run_main
from ddcf.difficulty.cli import command
from ddcf.difficulty.config import DifficultyConfig

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "fullcorpus_difficulty_estimation.py"


def test_help_lists_every_option_and_needs_no_torch():
    r = subprocess.run([sys.executable, SCRIPT, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    for f in dataclasses.fields(DifficultyConfig):
        assert f"--{f.name}" in r.stdout, f.name
    assert "--config" in r.stdout and "(default: 32768)" in r.stdout
    code = "import sys, ddcf.difficulty.cli as c; c.build_parser(); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "False", r.stderr


def test_ddcf_difficulty_is_the_same_command(capsys):
    with pytest.raises(SystemExit) as exc:
        ddcf_main(["difficulty", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "ddcf difficulty" in out and "--save_factorized_embeddings" in out


def test_script_end_to_end(work, capsys):
    layout, synth = work
    sys.path.insert(0, str(ROOT))
    import fullcorpus_difficulty_estimation as script

    rc = run_main(script.main, ["--workdir", str(layout.root), "--model_name", synth.models[1], "--no_progress",
                                "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0 and "scored 70 corpus questions" in out and "gsm8k" in out
    assert "predicted correctness (lower = harder)" in out and str(layout.difficulty(synth.models[1])) in out
    assert run_main(script.main, ["--workdir", str(layout.root), "--model_name", "nope", "--no_progress"]) == 2
    assert "not one of the 4 models" in capsys.readouterr().err
    assert run_main(script.main, ["--workdir", str(layout.root), "--model_name", synth.models[0],
                                  "--chunk_size", "0"]) == 2
    assert "--chunk_size" in capsys.readouterr().err
    assert run_main(script.main, ["--workdir", str(layout.root), "--all_models", "--device", "tpu"]) == 2
    assert "--device" in capsys.readouterr().err


@pytest.mark.parametrize("argv,match", [([], "No model to score"),
                                        (["--model_name", "m", "--all_models"], "Both --model_name and --all_models"),
                                        (["--model_name", "m", "--chunk_size", "-3"], "--chunk_size"),
                                        (["--all_models", "--device", "gpu"], "--device"),
                                        (["--all_models", "--chunk_size", "many"], "--chunk_size")])
def test_bad_values_exit_2_naming_the_option(tmp_path, capsys, argv, match):
    try:
        code = run_main(command.main, ["--workdir", str(tmp_path)] + argv)
    except SystemExit as exc:  # argparse rejects a value of the wrong type itself, also with exit 2
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and match in err and "Traceback" not in err


def test_config_file_and_flags_override_it(tmp_path):
    cfg = tmp_path / "d.yaml"
    cfg.write_text("model_name: org/model-1\nchunk_size: 64\nno_plot: true\n")
    config = command.parse(["--config", str(cfg), "--chunk_size", "8"])
    assert config.model_name == "org/model-1" and config.chunk_size == 8 and config.no_plot
    assert not config.all_models and config.device == "auto"
    cfg.write_text("all_models: yes\nmodel_name: org/model-1\n")
    assert run_main(command.main, ["--config", str(cfg)]) == 2


def test_resolved_config_is_written_and_repeats_the_run(work, capsys):
    layout, synth = work
    argv = ["--workdir", str(layout.root), "--model_name", synth.models[3], "--device", "cpu", "--chunk_size", "16",
            "--no_plot", "--no_progress"]
    assert run_main(command.main, argv) == 0
    resolved = layout.resolved_config(layout.factorized, "difficulty")
    assert resolved == layout.factorized / "difficulty.config.yaml" and resolved.exists()
    assert str(resolved) in capsys.readouterr().out
    values = yaml.safe_load(resolved.read_text())
    assert values["model_name"] == synth.models[3] and values["chunk_size"] == 16 and values["no_plot"] is True
    assert "workdir" not in values
    again = command.parse(["--config", str(resolved), "--workdir", str(layout.root), "--no_progress"])
    assert again == command.parse(argv)
    assert not layout.difficulty_histogram(synth.models[3]).exists()
