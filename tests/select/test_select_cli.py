"""The command line of stage 6: every option in --help, --config YAML, the resolved config, bad values."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers_select import write_layout

from ddcf import cli as ddcf_cli
from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.select.cli import command, main
from ddcf.select.config import SelectConfig

ROOT = Path(__file__).resolve().parents[2]
MODEL = "org/Target-7B"
OPTIONS = [f"--{f.name}" for f in dataclasses.fields(SelectConfig)]


def test_help_lists_every_option():
    text = command.build_parser().format_help()
    assert set(OPTIONS) >= {"--model_name", "--lamda", "--num_select", "--max_score", "--seed", "--device",
                            "--output_dir", "--chat_template", "--tokenizer", "--workdir", "--no_progress"}
    for flag in [*OPTIONS, "--config"]:
        assert flag in text, flag
    assert "k_greedy_selection.py" in text and "(default: 0.2)" in text and "(required)" in text


def test_script_help_is_fast_and_complete():
    r = subprocess.run([sys.executable, str(ROOT / "k_greedy_selection.py"), "--help"], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    for flag in OPTIONS:
        assert flag in r.stdout


def test_defaults_are_the_old_ones():
    c = command.parse(["--model_name", MODEL])
    assert (c.lamda, c.num_select, c.max_score, c.seed, c.device, c.output_dir, c.chat_template, c.tokenizer) == \
        (0.2, 1000, 1.0, 0, "auto", None, "reference", None)


def test_yaml_config_and_flag_override(tmp_path):
    cfg = tmp_path / "sel.yaml"
    cfg.write_text(f"model_name: {MODEL}\nlamda: 0.5\nnum_select: 7\nseed: 3\n")
    c = command.parse(["--config", str(cfg), "--num_select", "9"])
    assert (c.model_name, c.lamda, c.num_select, c.seed) == (MODEL, 0.5, 9, 3)


def test_resolved_config_is_written_and_repeats_the_run(layout, capsys):
    write_layout(layout, n=30)
    argv = ["--workdir", str(layout.root), "--model_name", MODEL, "--num_select", "6", "--lamda", "0.4",
            "--seed", "2", "--no_progress"]
    assert main(argv) == 0
    out = layout.selection_dir(MODEL, 0.4, 6)
    resolved = layout.resolved_config(out, "select")
    assert resolved.is_file() and str(resolved) in capsys.readouterr().out
    values = yaml.safe_load(resolved.read_text())
    assert values["num_select"] == 6 and values["lamda"] == 0.4 and "workdir" not in values
    again = command.parse(["--config", str(resolved), "--workdir", str(layout.root), "--no_progress"])
    assert again == command.parse(argv)
    first = pd.read_parquet(layout.selection_table(out))
    assert command.execute(again) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(layout.selection_table(out)), first)


@pytest.mark.parametrize("argv,option", [
    (["--lamda", "1.5"], "--lamda"),
    (["--lamda", "-0.1"], "--lamda"),
    (["--lamda", "abc"], "--lamda"),
    (["--num_select", "0"], "--num_select"),
    (["--num_select", "2.5"], "--num_select"),
    (["--max_score", "inf"], "--max_score"),
    (["--seed", "x"], "--seed"),
    (["--device", "tpu"], "--device"),
    (["--tokenizer", "tok", "--chat_template", "t.jinja"], "--tokenizer"),
])
def test_bad_values_are_one_error_naming_the_option(argv, option, capsys):
    with pytest.raises(DDCFError, match=option):
        command.parse(["--model_name", MODEL, *argv])
    assert run_main(main, ["--model_name", MODEL, *argv]) == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err


def test_model_name_is_required(tmp_path):
    with pytest.raises(SystemExit):
        command.parse([])
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lamda: 0.3\n")
    with pytest.raises(SystemExit):
        command.parse(["--config", str(cfg)])
    cfg.write_text("lamda: 0.3\nmodel_name: m\nnum_selct: 3\n")
    with pytest.raises(DDCFError, match="num_selct"):
        command.parse(["--config", str(cfg)])


def test_ddcf_select_is_the_same_command(layout, capsys):
    assert ddcf_cli.SUBCOMMANDS["select"][0] == "ddcf.select.cli"
    write_layout(layout, n=20)
    code = ddcf_cli.main(["select", "--workdir", str(layout.root), "--model_name", MODEL, "--num_select", "4",
                          "--no_progress"])
    assert code == 0 and "DDCF selection" in capsys.readouterr().out
    assert layout.resolved_config(layout.selection_dir(MODEL, 0.2, 4), "select").is_file()
    assert ddcf_cli.main(["select", "--workdir", str(layout.root), "--model_name", MODEL, "--lamda", "2"]) == 2
    assert "--lamda" in capsys.readouterr().err
