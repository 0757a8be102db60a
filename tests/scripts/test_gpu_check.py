"""scripts/gpu_check.sh / gpu_check.py on the CPU: every GPU item SKIPs without CUDA; --device cpu --scale tiny runs
the new checks' logic; missing packages SKIP; a wheelhouse is installed without touching the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import gpu_check  # noqa: E402

ALL = ["sft", "select", "embed", "generate", "hfgen", "select_paper", "predictor", "difficulty"]


def _run(*args, **env):
    return subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": sys.executable, **env}, timeout=600)


def _wheel(folder: Path) -> Path:
    """A minimal pure-python wheel (module gpu_check_probe), built by hand: no network, no build tools."""
    folder.mkdir()
    path = folder / "gpu_check_probe-0.1-py3-none-any.whl"
    info = "gpu_check_probe-0.1.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("gpu_check_probe.py", "VALUE = 42\n")
        z.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: gpu_check_probe\nVersion: 0.1\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return path


def test_without_a_gpu_every_item_skips_and_the_wheelhouse_goes_to_a_temporary_folder(tmp_path):
    _wheel(tmp_path / "wh")
    out = _run(CUDA_VISIBLE_DEVICES="", WHEELHOUSE=str(tmp_path / "wh"))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("wheelhouse: 1 wheel(s) from") and "installed into a temporary folder" in lines[0]
    assert [line.split(":")[0] for line in lines[1:9]] == [f"SKIP {c}" for c in ALL]
    assert lines[9].startswith("versions: python ") and "(no CUDA GPU)" in lines[9]
    assert lines[-1].startswith("gpu_check: 8 check(s), 0 failed")
    probe = subprocess.run([sys.executable, "-c", "import gpu_check_probe"], capture_output=True)
    assert probe.returncode != 0  # nothing was installed into this environment


def test_a_check_whose_packages_are_missing_skips_and_names_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(gpu_check.NEEDS, "hfgen", ("transformers", "no_such_module_xyz"))
    assert gpu_check.main(["hfgen", "--device", "cpu", "--tmp", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("SKIP hfgen: not installed: no_such_module_xyz")


def test_the_new_checks_logic_on_the_cpu_at_tiny_scale():
    out = _run("--device", "cpu", "--scale", "tiny", "--only", "hfgen,select_paper,predictor,difficulty")
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "PASS hfgen: 4 greedy completions" in text and "on cpu" in text
    assert "PASS select_paper: 3,000 x 32, k=50: 50 picks identical to the CPU selector" in text
    assert "PASS predictor: 1,200 training pairs, --arch paper:" in text and "s per epoch on cpu" in text
    assert "PASS difficulty: 3,000 corpus questions scored" in text and "max |P_dev - P_cpu| = 0.0e+00" in text


def test_the_paper_scale_is_the_papers():
    assert gpu_check.PAPER["corpus"] == 189_257 and gpu_check.PAPER["dim"] == 2_560 and gpu_check.PAPER["k"] == 1_000
    assert gpu_check.PAPER["models"] * gpu_check.PAPER["train_questions"] == 447_810  # training pairs


def test_tiny_sentence_model_embeds_unit_vectors(tmp_path):
    from sentence_transformers import SentenceTransformer

    path = gpu_check._tiny_sentence_model(tmp_path)
    emb = SentenceTransformer(path, device="cpu").encode(["What is 2+2?", "Solve x^2 = 4."])
    assert emb.shape == (2, 64) and abs(float((emb[0] ** 2).sum()) - 1.0) < 1e-5
