"""scripts/check_gpu_envs.py's offline check: the GPU locks against the recorded engine metadata and pyproject."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import check_gpu_envs as cge  # noqa: E402


@pytest.fixture
def copy(tmp_path):
    """A copy of requirements/ and pyproject.toml that a test may break."""
    req = tmp_path / "requirements"
    shutil.copytree(ROOT / "requirements", req)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _check(root: Path) -> list[str]:
    return cge.check_all(root / "requirements", root / "requirements" / "engine_metadata.json", root / "pyproject.toml")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert re.search(old, text, re.M), f"{old!r} not in {path.name}"
    path.write_text(re.sub(old, new, text, flags=re.M))


def test_the_repository_locks_pass():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_gpu_envs.py")], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 lock(s) agree" in done.stdout


def test_each_lock_pins_its_engine_and_the_engines_own_torch():
    pins = {env: cge.read_pins(ROOT / "requirements" / f"gpu-{env}.txt") for env in cge.ENVS}
    assert pins["vllm"]["vllm"] == "0.33.0" and pins["vllm"]["torch"] == "2.14.0"
    assert pins["sglang"]["sglang"] == "0.5.23" and pins["sglang"]["transformers"] == "5.19.0"
    assert pins["train"]["trl"] == "1.16.0" and "deepspeed" in pins["train"] and "liger-kernel" in pins["train"]
    assert "vllm" not in pins["sglang"] and "sglang" not in pins["vllm"]


def test_a_conflicting_pin_fails(copy):
    # vllm 0.33.0 needs transformers<5.21: requirements.txt's 5.23.0 in its lock must fail.
    for name in ("gpu-vllm.txt", "gpu-vllm.in"):
        _edit(copy / "requirements" / name, r"^transformers==5\.20\.2$", "transformers==5.23.0")
    problems = _check(copy)
    assert problems == ["gpu-vllm.txt: vllm==0.33.0 needs transformers<5.21.0,>=5.16.1 but the lock pins "
                        "transformers==5.23.0"], problems


def test_extras_must_agree_with_the_locks(copy):
    _edit(copy / "pyproject.toml", r'^vllm = \["vllm==0\.33\.0"\]', 'vllm = ["vllm==0.32.0"]')
    assert _check(copy) == ["gpu-vllm.txt: ddcf needs vllm==0.32.0 but the lock pins vllm==0.33.0"]


def test_a_ddcf_dependency_missing_from_a_lock_fails(copy):
    _edit(copy / "pyproject.toml", r'^    "umap-learn>=0\.5",$', '    "umap-learn>=0.5",\n    "nosuchpkg>=1",')
    problems = _check(copy)
    assert len(problems) == 3 and all("ddcf needs nosuchpkg>=1 but the lock has no nosuchpkg" in p for p in problems)


def test_in_and_lock_must_agree_and_metadata_must_cover_the_lock(copy):
    _edit(copy / "requirements" / "gpu-train.in", r"^peft==0\.21\.2$", "peft==0.22.0")
    assert any("gpu-train.in pins peft==0.22.0, the lock 0.21.2" in p for p in _check(copy))
    _edit(copy / "requirements" / "gpu-train.in", r"^peft==0\.22\.0$", "peft==0.21.2")
    _edit(copy / "requirements" / "gpu-train.txt", r"^tqdm==4\.70\.1$", "tqdm==4.70.0")
    _edit(copy / "requirements" / "gpu-train.in", r"^tqdm==4\.70\.1$", "tqdm==4.70.0")
    assert any("no recorded metadata for tqdm==4.70.0" in p for p in _check(copy))


def test_markers_are_evaluated_for_linux_x86_64_cpython_311():
    from packaging.requirements import Requirement

    assert cge.applies(Requirement('uvloop; sys_platform == "linux"'))
    assert not cge.applies(Requirement('pywin32; sys_platform == "win32"'))
    assert not cge.applies(Requirement('tomli; python_version < "3.11"'))
    assert not cge.applies(Requirement('pytest; extra == "test"'))
