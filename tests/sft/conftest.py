"""Fixtures of the SFT tests: a tiny chat model (32 positions, so training needs the YaRN extension) and
selection datasets, all built on the fly (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sft_testlib import QUESTIONS, build_chat_lm, save_selection_dataset

LONG = ("q_long", "Tell a long story.", " ".join(["The final answer is $\\boxed{42}$."] * 40))


@pytest.fixture(scope="session")
def chat_lm(tmp_path_factory) -> Path:
    return build_chat_lm(tmp_path_factory.mktemp("chat_lm"), max_positions=32)


@pytest.fixture(scope="session")
def selection_ds(tmp_path_factory) -> Path:
    """Four short examples twice over (loss must fall on repeats) and one too long for --max_length 128."""
    return save_selection_dataset(tmp_path_factory.mktemp("sel") / "dataset", rows=QUESTIONS * 2 + [LONG])
