"""Fixtures for the generation tests: a tiny random Llama built on the fly, seed questions, the grader."""

from __future__ import annotations

from pathlib import Path

import pytest
from gen_testlib import build_tiny_lm, seed_frame


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny_lm"))


@pytest.fixture(scope="session")
def gpu_tiny_lm(tmp_path_factory) -> Path:
    """Head dim 64 (GPU attention kernels reject the CPU model's head dim 8)."""
    return build_tiny_lm(tmp_path_factory.mktemp("gpu_tiny_lm"), hidden=256)


@pytest.fixture
def seeded(layout):
    """A layout whose seed question table holds SEED_ROWS."""
    from ddcf.io import write_parquet

    write_parquet(seed_frame(), layout.seed_questions)
    return layout


@pytest.fixture
def grader():
    """The project's verifier."""
    from ddcf.verify.grade import grade_completions

    return grade_completions


@pytest.fixture
def layout_factory(tmp_path):
    """Extra work directories (with the same seed questions) for comparisons."""
    from ddcf.io import write_parquet
    from ddcf.layout import Layout

    def make(name: str) -> Layout:
        lay = Layout(tmp_path / name)
        write_parquet(seed_frame(), lay.seed_questions)
        return lay

    return make
