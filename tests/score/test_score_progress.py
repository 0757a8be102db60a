"""issue 25, "never silent for minutes": ddcf score shows progress inside a shard (per forward pass), its default
shard is small (a kill loses little), and --overwrite (the start-over flag of every resumable stage) rescores."""

import pandas as pd
import pytest
from generate.gen_testlib import build_tiny_lm

from ddcf.runtime import PlainProgress
from ddcf.score import logprobs as L
from ddcf.score.cli import main as score_main
from ddcf.score.config import ScoreConfig


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return build_tiny_lm(tmp_path_factory.mktemp("tiny_lm"))


def test_default_shard_is_small():
    assert ScoreConfig().shard_size <= 100  # was 1,000: 1,183 s of CPU scoring lost to one kill


def test_progress_is_counted_per_forward_pass(layout, tiny_lm, monkeypatch):
    """One shard of 6 questions, batches of 2: the bar moves 3 times inside the shard (it moved once per shard)."""
    from helpers_select import write_layout

    model = str(tiny_lm)
    write_layout(layout, n=6, model=model)
    updates = []
    real_update = PlainProgress.update

    def spy(self, n=1):
        updates.append(n)
        return real_update(self, n)

    monkeypatch.setattr(PlainProgress, "update", spy)
    calls = []
    real = L.hf_logprobs
    monkeypatch.setattr("ddcf.score.parts.hf_logprobs", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert score_main(["--workdir", str(layout.root), "--model_name", model, "--backend", "hf", "--batch_size", "2",
                       "--shard_size", "6"]) == 0
    assert len(calls) == 1 and [n for n in updates if n] == [2, 2, 2]


def test_overwrite_rescores_everything(layout, tiny_lm, capsys):
    from helpers_select import write_layout

    model = str(tiny_lm)
    write_layout(layout, n=4, model=model)
    args = ["--workdir", str(layout.root), "--model_name", model, "--backend", "hf", "--no_progress"]
    assert score_main(args) == 0
    first = pd.read_parquet(layout.scores(model))
    capsys.readouterr()
    assert score_main(args) == 0
    assert "scored now 0" in capsys.readouterr().out  # resumed from the cache
    assert score_main([*args, "--overwrite"]) == 0
    assert "scored now 4" in capsys.readouterr().out
    pd.testing.assert_frame_equal(first, pd.read_parquet(layout.scores(model)))
