"""ddcf score (issue 25): --name for a target loaded from a folder, damaged cache rows rescored, an unscorable
question skipped and named instead of aborting the run, and the selectors' error says where they looked."""

import numpy as np
import pandas as pd
import pytest
from generate.gen_testlib import build_tiny_lm
from helpers_select import write_layout

from ddcf.cli import run_main
from ddcf.io import read_parquet_metadata, write_parquet
from ddcf.score.cli import main as score_main
from ddcf.select.cli import main as select_main

TARGET = "org/Target-7B"


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return build_tiny_lm(tmp_path_factory.mktemp("tiny_lm"))


def score(layout, model, *extra):
    return score_main(["--workdir", str(layout.root), "--model_name", str(model), "--no_progress", "--backend", "hf",
                       "--batch_size", "4", "--shard_size", "4", *extra])


def test_name_stores_scores_under_the_selection_target(layout, tiny_lm, tmp_path):
    write_layout(layout, n=8, model=TARGET)
    assert score(layout, tiny_lm, "--name", TARGET) == 0
    assert read_parquet_metadata(layout.scores(TARGET))["model"] == TARGET
    assert read_parquet_metadata(layout.scores(TARGET))["model_source"] == str(tiny_lm)
    assert not layout.scores_dir(str(tiny_lm)).exists()
    assert select_main(["--workdir", str(layout.root), "--model_name", TARGET, "--no_progress", "--method",
                        "perplexity", "--num_select", "3", "--output_dir", str(tmp_path / "sel")]) == 0


def test_the_selectors_say_where_they_looked(layout, tiny_lm, capsys):
    write_layout(layout, n=8, model=TARGET)
    assert score(layout, tiny_lm) == 0  # stored under the folder's path, not the target's name
    capsys.readouterr()
    code = run_main(select_main, ["--workdir", str(layout.root), "--model_name", TARGET, "--no_progress",
                                  "--method", "perplexity", "--num_select", "3"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and str(layout.scores_dir(TARGET)) in err and f"--name {TARGET}" in err


def test_a_shard_with_nan_scores_is_rescored(layout, tiny_lm, capsys):
    write_layout(layout, n=8, model=TARGET)
    assert score(layout, tiny_lm, "--name", TARGET) == 0
    good = pd.read_parquet(layout.scores(TARGET))
    shard = sorted(layout.score_shards(TARGET).glob("part-*.parquet"))[0]
    rows = pd.read_parquet(shard)
    rows.loc[[0, 2], "sum_logprob"] = np.nan
    rows.loc[[0, 2], "perplexity"] = np.nan
    write_parquet(rows, shard, metadata=read_parquet_metadata(shard))
    capsys.readouterr()
    assert score(layout, tiny_lm, "--name", TARGET) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "scored now 2" in out and "2 cached score(s)" in out
    again = pd.read_parquet(layout.scores(TARGET))
    assert np.isfinite(again.sum_logprob).all()
    np.testing.assert_allclose(again.sum_logprob, good.sum_logprob, rtol=1e-6)


def test_one_overlong_prompt_is_skipped_and_named_not_fatal(layout, tiny_lm, capsys):
    corpus, _, _ = write_layout(layout, n=8, model=TARGET)
    corpus.loc[5, "question"] = "word " * 400
    write_parquet(corpus, layout.corpus_questions)
    assert score(layout, tiny_lm, "--name", TARGET, "--max_length", "64") == 0
    out = " ".join(capsys.readouterr().out.split())
    table = pd.read_parquet(layout.scores(TARGET))
    assert table.question_id.tolist() == corpus.question_id.tolist()
    assert table.perplexity.isna().tolist() == [i == 5 for i in range(8)]
    assert "1 skipped" in out and f"{corpus.question_id[5]}: its prompt of" in out
