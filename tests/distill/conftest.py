"""Fixtures for ddcf distill: a finished selection of an unannotated corpus, made by the real selection stage."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for sub in ("select", "generate"):  # helpers_select.write_layout, gen_testlib.build_tiny_lm
    if str(HERE.parent / sub) not in sys.path:
        sys.path.insert(0, str(HERE.parent / sub))
sys.path.insert(0, str(HERE))

from distill_testlib import MODEL, K, N, right  # noqa: E402


@pytest.fixture
def selection(layout):
    """(layout, selection dir) of a DDCF selection of K questions from an unannotated corpus with golds."""
    from helpers_select import write_layout

    from ddcf.io import write_parquet
    from ddcf.select.cli import main

    corpus, _, _ = write_layout(layout, n=N, model=MODEL)
    corpus = corpus.drop(columns="response")
    corpus["question"] = [f"Question {i}: what is the value of {i}?" for i in range(N)]
    corpus["answer"] = [str(i) if right(i) else str(i + 1000) for i in range(N)]
    corpus["dataset"] = "math"
    write_parquet(corpus, layout.corpus_questions)
    assert main(["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", "--num_select", str(K)]) == 0
    return layout, layout.selection_dir(MODEL, 0.2, K)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory) -> Path:
    from gen_testlib import build_tiny_lm

    return build_tiny_lm(tmp_path_factory.mktemp("tiny_lm"))
