"""The generate stage's command line: infer.py without --completions, and ``ddcf generate``."""

import subprocess
import sys

import pandas as pd
import pytest
import yaml
from gen_testlib import INFER_SCRIPT, fake_grade

from ddcf import cli as ddcf_cli
from ddcf.cli import run_main
from ddcf.config import build_parser, parse_config
from ddcf.generate import runner as R
from ddcf.generate.cli import command
from ddcf.generate.config import GenerateConfig
from ddcf.infer import main as infer_main

DUMMY = ["--model_name", "dummy/x", "--backend", "dummy", "--no_progress", "--max_new_tokens", "300"]


@pytest.fixture
def fast_grader(monkeypatch):
    """The stand-in grader instead of math-verify workers (these tests are about the command line)."""
    monkeypatch.setattr(R, "grade_completions", fake_grade)


def test_defaults_are_paper_settings_and_every_option_has_help():
    s = command.parse(["--model_name", "Qwen/Qwen2.5-Math-7B"])
    assert (s.max_new_tokens, s.max_prompt_tokens, s.temperature, s.n) == (2700, 1024, 0.0, 1)
    assert s.backend == "auto" and s.data_parallel_size is None and s.shard_size == 500
    assert s.timeout == 5.0 and s.workers is None and not s.regrade
    for action in build_parser(GenerateConfig)._actions:
        if action.dest != "help":
            assert action.help, f"{action.dest} has no help"


@pytest.mark.parametrize("argv,flag", [
    (["--backend", "bogus"], "--backend"),
    (["--n", "0"], "--n"),
    (["--temperature", "-1"], "--temperature"),
    (["--top_p", "0"], "--top_p"),
    (["--timeout", "0"], "--timeout"),
    (["--workers", "0"], "--workers"),
    (["--n", "3"], "identical samples"),
    (["--regrade", "--force_regenerate"], "contradict"),
])
def test_bad_values_exit_2_naming_the_option(argv, flag, tmp_path, capsys):
    try:
        code = run_main(command.main, ["--workdir", str(tmp_path), "--model_name", "m", *argv])
    except SystemExit as exc:  # argparse rejects a value outside the choices itself (also exit 2)
        code = exc.code
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and flag in err and "Traceback" not in err


def test_without_model_name_is_a_clear_error(seeded, capsys):
    assert run_main(command.main, ["--workdir", str(seeded.root), "--backend", "dummy"]) == 2
    assert "No model given" in capsys.readouterr().err


def test_run_prints_summary_and_skips(seeded, fast_grader, capsys):
    argv = ["--workdir", str(seeded.root), *DUMMY, "--n", "2", "--temperature", "0.7", "--shard_size", "4"]
    assert command.main(argv) == 0
    out = capsys.readouterr().out
    assert "8 questions x 2 sample(s)" in out and "pass@2" in out and "impossible" in out
    assert len(pd.read_parquet(seeded.verdicts("dummy/x"))) == 16
    assert command.main(argv) == 0
    assert "already complete" in capsys.readouterr().out


def test_resolved_config_is_written_and_repeats_the_run(seeded, fast_grader, capsys):
    argv = ["--workdir", str(seeded.root), *DUMMY, "--limit", "4", "--shard_size", "2"]
    assert infer_main(argv) == 0
    path = seeded.resolved_config(seeded.generations("dummy/x"), "generate")
    saved = yaml.safe_load(path.read_text())
    assert saved["model_name"] == "dummy/x" and saved["limit"] == 4 and saved["timeout"] == 5.0
    assert "workdir" not in saved and "completions" not in saved  # where to run is not part of the run
    first = command.parse(argv)
    again = command.parse(["--config", str(path), "--workdir", str(seeded.root), "--no_progress"])
    assert again == first
    capsys.readouterr()
    assert infer_main(["--config", str(path), "--workdir", str(seeded.root), "--no_progress"]) == 0
    assert "already complete" in capsys.readouterr().out  # infer.py read the file as generation mode


def test_config_file_and_flags_override_it(tmp_path):
    cfg = tmp_path / "gen.yaml"
    cfg.write_text("model_name: org/m\nn: 4\ntemperature: 0.6\ntimeout: 2\n")
    s = command.parse(["--config", str(cfg), "--n", "8"])
    assert (s.model_name, s.n, s.temperature, s.timeout) == ("org/m", 8, 0.6, 2.0)
    cfg.write_text("model_name: org/m\ncompletions: x.parquet\n")  # a verify option: not this command's
    with pytest.raises(Exception, match="completions"):
        command.parse(["--config", str(cfg)])


def test_infer_reverify_in_generation_mode_means_regrade(seeded, fast_grader, monkeypatch, capsys):
    argv = ["--workdir", str(seeded.root), *DUMMY, "--limit", "3"]
    assert infer_main(argv) == 0
    calls = []
    real = R.verify_generations

    def spy(*a, **kw):
        calls.append(kw["cache_path"])
        return real(*a, **kw)

    monkeypatch.setattr(R, "verify_generations", spy)
    capsys.readouterr()
    assert infer_main(argv + ["--reverify"]) == 0
    captured = capsys.readouterr()
    assert "--reverify without --completions is deprecated" in captured.err and "--regrade" in captured.err
    assert calls == [None]  # graded again, bypassing the cache, without generating


def test_ddcf_generate_is_the_same_command(seeded, fast_grader, capsys):
    assert ddcf_cli.SUBCOMMANDS["generate"][0] == "ddcf.generate.cli"
    assert ddcf_cli.main(["generate", "--workdir", str(seeded.root), *DUMMY, "--limit", "2"]) == 0
    assert len(pd.read_parquet(seeded.verdicts("dummy/x"))) == 2
    with pytest.raises(SystemExit):
        ddcf_cli.main(["generate", "--help"])
    help_text = capsys.readouterr().out
    for f in ("--model_name", "--regrade", "--timeout", "--workers", "--config", "--shard_size"):
        assert f in help_text
    assert "[--reverify]" not in help_text and "--completions" not in help_text  # verify-only flags


def test_parse_union_of_both_configs():
    from ddcf.verify.config import VerifyConfig

    config, values = parse_config(GenerateConfig, ["--model_name", "m", "--models", "a,b"], extra=(VerifyConfig,))
    assert config.model_name == "m" and values["models"] == ["a", "b"] and values["completions"] is None


def test_infer_entry_point_end_to_end(seeded):
    cmd = [sys.executable, str(INFER_SCRIPT), "--workdir", str(seeded.root), "--model_name", "dummy/cli", "--backend",
           "dummy", "--no_progress", "--limit", "3"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert seeded.verdicts("dummy/cli").exists()
    bad = subprocess.run(cmd + ["--n", "3"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "identical samples" in bad.stderr and "Traceback" not in bad.stderr
