"""Fixtures of the evaluation tests: an oracle backend with known right/wrong answers, the tiny local LM."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generate"))

from eval_testlib import OracleBackend
from gen_testlib import build_tiny_lm


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny_lm_eval"))


@pytest.fixture
def oracle():
    return OracleBackend
