import argparse
import subprocess
import sys

import pandas as pd
import pytest

from ddcf.generate import cli as C
from ddcf.generate import runner as R
from gen_testlib import fake_grade, infer_script


def test_add_generation_args_defaults_are_paper_settings():
    p = C.add_generation_args(argparse.ArgumentParser())
    a = p.parse_args(["--model_name", "Qwen/Qwen2.5-Math-7B"])
    s = C.settings_from_args(a)
    assert (s.max_new_tokens, s.max_prompt_tokens, s.temperature, s.n) == (2700, 1024, 0.0, 1)
    assert s.backend == "auto" and s.data_parallel_size is None and s.shard_size == 500
    for action in p._actions:
        if action.dest != "help":
            assert action.help, f"{action.dest} has no help"


def test_add_generation_args_keeps_host_options():
    p = argparse.ArgumentParser()
    p.add_argument("--model_name", required=True, help="host's own definition")
    p.add_argument("--seed", type=int, default=42, help="host's seed")
    C.add_generation_args(p)  # must not raise a conflict
    a = p.parse_args(["--model_name", "m", "--backend", "dummy", "--n", "2", "--temperature", "0.5"])
    assert a.seed == 42 and a.backend == "dummy" and a.n == 2
    with pytest.raises(SystemExit):
        p.parse_args(["--model_name", "m", "--backend", "bogus"])


def test_run_generation_mode_prints_summary_and_skips(seeded, monkeypatch, capsys):
    monkeypatch.setattr(R, "_default_grader", lambda: fake_grade)
    p = C.add_generation_args(argparse.ArgumentParser())
    args = p.parse_args(["--model_name", "dummy/x", "--backend", "dummy", "--n", "2", "--temperature", "0.7",
                         "--shard_size", "4", "--no_progress", "--max_new_tokens", "300"])
    assert C.run_generation_mode(args, seeded) == 0
    out = capsys.readouterr().out
    assert "8 questions x 2 sample(s)" in out and "pass@2" in out and "impossible" in out
    assert len(pd.read_parquet(seeded.verdicts("dummy/x"))) == 16
    assert C.run_generation_mode(args, seeded) == 0
    assert "already complete" in capsys.readouterr().out


def test_infer_entry_point_end_to_end(seeded, tmp_path):
    script = infer_script(tmp_path)
    cmd = [sys.executable, str(script), "--workdir", str(seeded.root), "--model_name", "dummy/cli", "--backend",
           "dummy", "--no_progress", "--limit", "3"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert seeded.verdicts("dummy/cli").exists()
    bad = subprocess.run(cmd + ["--n", "3"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "identical samples" in bad.stderr and "Traceback" not in bad.stderr
