"""run_infer_all_models.sh with the dummy backend: one process per model, failures reported, reruns skip."""

import os
import subprocess
import sys

import pandas as pd
from gen_testlib import INFER_SCRIPT, REPO_ROOT

from ddcf.names import safe_name

SCRIPT = REPO_ROOT / "run_infer_all_models.sh"


def run_script(args, env_extra, cwd):
    env = dict(os.environ, PYTHON=sys.executable, **env_extra)
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=600)


def test_all_models_with_one_failure(seeded, tmp_path):
    order = tmp_path / "order.csv"
    models = ["dummy/model-a", "/nonexistent/model", "dummy/model b"]
    pd.DataFrame({"model_id": range(3), "model": models}).to_csv(order, index=False)
    logs = tmp_path / "logs"
    args = ["--model_order", str(order), "--log_dir", str(logs), "--workdir", str(seeded.root),
            "--backend", "dummy", "--no_progress", "--limit", "5", "--shard_size", "2"]
    env = {"INFER_SCRIPT": str(INFER_SCRIPT)}

    r = run_script(args, env, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 done, 0 skipped, 1 failed of 3" in r.stdout
    assert "/nonexistent/model" in r.stderr and "cannot find the model" in r.stderr  # the error itself
    for m in ("dummy/model-a", "dummy/model b"):
        assert len(pd.read_parquet(seeded.verdicts(m))) == 5
    assert not seeded.verdicts("/nonexistent/model").exists()
    # logs are named as the verdict tables are (ddcf.names.safe_name: injective)
    assert sorted(p.name for p in logs.iterdir()) == sorted(f"{safe_name(m)}.log" for m in models)
    mtime = seeded.verdicts("dummy/model-a").stat().st_mtime_ns

    again = run_script(args, env, tmp_path)
    assert again.returncode == 1
    assert "0 done, 2 skipped, 1 failed of 3" in again.stdout
    assert seeded.verdicts("dummy/model-a").stat().st_mtime_ns == mtime
    assert safe_name("dummy/model b") in {p.name for p in seeded.generations_dir.iterdir()}


def test_no_passthrough_args_under_set_u_and_all_ok(tmp_path):
    order = tmp_path / "order.csv"
    order.write_text('model_id,model\n0,"org/m,one"\n1,org/two\n')
    fake = tmp_path / "fake_infer.py"
    fake.write_text("import sys\nprint('ARGS', sys.argv[1:])\n")
    r = run_script(["--model_order", str(order), "--log_dir", str(tmp_path / "l")],
                   {"INFER_SCRIPT": str(fake)}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2 done, 0 skipped, 0 failed of 2" in r.stdout
    log = (tmp_path / "l" / f"{safe_name('org/m,one')}.log").read_text()
    assert "ARGS ['--model_name', 'org/m,one']" in log


def test_bad_invocations(tmp_path):
    fake = tmp_path / "fake_infer.py"
    fake.write_text("print('x')\n")
    env = {"INFER_SCRIPT": str(fake)}
    missing = run_script(["--model_order", str(tmp_path / "none.csv")], env, tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("id,name\n0,a\n")
    r = run_script(["--model_order", str(nocol)], env, tmp_path)
    assert r.returncode == 2 and "'model' column" in r.stderr
    r = run_script(["--model_name", "x"], env, tmp_path)
    assert r.returncode == 2 and "set per model" in r.stderr
    r = run_script(["--model_order"], env, tmp_path)
    assert r.returncode == 2 and "needs a path" in r.stderr


def test_shipped_model_order_lists_the_papers_23_models():
    df = pd.read_csv(REPO_ROOT / "DDCF_data" / "model_order.csv")
    assert list(df.columns) == ["model_id", "model"]
    assert list(df["model_id"]) == list(range(23)) and df["model"].is_unique
    assert {"Qwen/Qwen2.5-Math-7B", "meta-llama/Llama-3.1-8B", "tiiuae/Falcon3-10B-Base",
            "deepseek-ai/deepseek-math-7b-base", "google/gemma-2-27b"} <= set(df["model"])


def _fake(tmp_path):
    fake = tmp_path / "fake_infer.py"
    fake.write_text("import sys\nprint('ARGS', sys.argv[1:])\n")
    return fake


def test_a_model_name_with_a_newline_is_refused_not_run_as_two(tmp_path):
    order = tmp_path / "order.csv"
    order.write_text('model_id,model\n0,"org/a\norg/b"\n1,org/c\n')
    r = run_script(["--model_order", str(order), "--log_dir", str(tmp_path / "l")],
                   {"INFER_SCRIPT": str(_fake(tmp_path))}, tmp_path)
    assert r.returncode == 2 and "data row 1" in r.stderr and "control character" in r.stderr
    assert not (tmp_path / "l").exists() or not list((tmp_path / "l").iterdir())


def test_log_names_do_not_collide(tmp_path):
    order = tmp_path / "order.csv"
    models = ["a/b", "a__b", "a b", "a_b", "a:b"]
    pd.DataFrame({"model_id": range(len(models)), "model": models}).to_csv(order, index=False)
    r = run_script(["--model_order", str(order), "--log_dir", str(tmp_path / "l")],
                   {"INFER_SCRIPT": str(_fake(tmp_path))}, tmp_path)
    assert r.returncode == 0, r.stderr
    logs = sorted((tmp_path / "l").iterdir())
    assert len(logs) == len(models)
    for m in models:
        assert f"ARGS ['--model_name', {m!r}]" in (tmp_path / "l" / f"{safe_name(m)}.log").read_text()
