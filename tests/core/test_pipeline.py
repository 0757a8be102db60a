"""StageCommand: flags -> config -> run(layout, config) -> Report, resolved config beside the outputs."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest
import yaml

from ddcf.cli import run_main
from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError
from ddcf.pipeline import Report, StageCommand


@dataclass
class EchoConfig(StageConfig):
    """Echo stage for tests."""

    word: str = option("hi", "What to write.")
    times: int = option(1, "How often.", min=1)


def _run(layout, config: EchoConfig) -> Report:
    if config.word == "fail":
        raise DDCFError("The word is 'fail'.", "pass another --word.")
    out = layout.data / "echo.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(config.word * config.times)
    return Report(stage="echo", summary=f"echoed {config.word!r} x{config.times}", files=[out],
                  warnings=["just a test"], config_dir=layout.data)


@pytest.fixture
def command(monkeypatch):
    mod = types.ModuleType("ddcf_test_echo_stage")
    mod.run = _run
    monkeypatch.setitem(sys.modules, "ddcf_test_echo_stage", mod)
    return StageCommand(stage="echo", config=EchoConfig, run="ddcf_test_echo_stage:run", prog="echo.py")


def test_stage_command_runs_and_writes_resolved_config(command, tmp_path, capsys):
    work = tmp_path / "w"
    assert command.main(["--workdir", str(work), "--word", "ab", "--times", "2"]) == 0
    assert (work / "DDCF_data" / "echo.txt").read_text() == "abab"
    resolved = work / "DDCF_data" / "echo.config.yaml"
    assert yaml.safe_load(resolved.read_text()) == {"word": "ab", "times": 2}
    out = capsys.readouterr().out
    assert "echoed 'ab' x2" in out and "warning: just a test" in out and "echo.config.yaml" in out
    # the resolved file repeats the run
    assert command.parse(["--config", str(resolved)]) == EchoConfig(word="ab", times=2)


def test_stage_errors_become_one_paragraph_and_exit_2(command, tmp_path, capsys):
    code = run_main(command.main, ["--workdir", str(tmp_path), "--word", "fail"])
    assert code == 2
    err = capsys.readouterr().err
    assert "The word is 'fail'. Fix: pass another --word." in err and "Traceback" not in err
    assert run_main(command.main, ["--times", "0"]) == 2


def test_report_render_lists_files_and_warnings(tmp_path):
    r = Report(stage="x", summary="done", files=[tmp_path / f"f{i}" for i in range(3)], warnings=["w"])
    text = r.render()
    assert text.startswith("done") and "warning: w" in text and f"  {tmp_path / 'f2'}\n" in text + "\n"
    many = Report(stage="x", files=[tmp_path / f"f{i}" for i in range(12)]).render()
    assert many.startswith("wrote 12 files:") and f"{tmp_path}/: f0, f1, f2, f3, f4 and 7 more" in many
