"""Stage 0' (download_binary_correctness_from_hf.py / ddcf download-correctness) on a folder like the published repo."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hub_repos import correctness_table, write_dataset_repo

from ddcf.download.cli import command as download
from ddcf.download_correctness.cli import command
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import read_parquet_metadata
from ddcf.verify.grade import VERDICT_COLUMNS


def run(layout, *args):
    return command.execute(command.parse(["--workdir", str(layout.root), "--no_progress", *args]))


@pytest.fixture
def seeded(repos, layout):
    download.execute(download.parse(["--workdir", str(layout.root), "--which", "seed", "--no_progress",
                                     "--seed_repo_id", str(repos.seed)]))
    return layout


def test_verdict_tables_are_what_infer_py_writes(repos, seeded):
    layout = seeded
    assert run(layout, "--repo_id", str(repos.correctness)) == 0
    graded = repos.graded
    for model, want in graded.groupby("model", sort=False):
        got = pd.read_parquet(layout.verdicts(model))
        assert list(got.columns) == VERDICT_COLUMNS
        want = want.sort_values("question_id").reset_index(drop=True)
        got = got.sort_values("question_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want[VERDICT_COLUMNS], check_dtype=False)
        assert read_parquet_metadata(layout.verdicts(model))["model"] == model
    # the published 'Qwen__Qwen2-7B-Instruct' is restored; its file name is the one infer.py would use
    assert layout.verdicts("Qwen/Qwen2-7B-Instruct").name == "Qwen__Qwen2-7B-Instruct.parquet"
    order = pd.read_csv(layout.model_order)
    assert order.model.tolist() == sorted(graded.model.unique().tolist(), key=lambda m: m.replace("/", "__"))
    assert order.model_id.tolist() == list(range(6)) and "Qwen/Qwen2-7B-Instruct" in order.model.tolist()


def test_create_training_data_runs_unchanged_on_it(repos, seeded):
    from ddcf.matrix.cli import main as matrix

    run(seeded, "--repo_id", str(repos.correctness))
    order = pd.read_csv(seeded.model_order).model.tolist()
    assert matrix(["--workdir", str(seeded.root)]) == 0
    m = pd.read_parquet(seeded.matrix)
    assert m.drop_duplicates("model_id").sort_values("model_id").model.tolist() == order
    assert len(m) == len(repos.graded) and set(m.dataset) == {"gsm8k", "math"}
    acc = repos.graded.groupby("model").correct.mean()
    assert m.groupby("model").correct.mean().to_dict() == pytest.approx(acc.to_dict())


def test_models_subset_in_either_spelling(repos, seeded):
    run(seeded, "--repo_id", str(repos.correctness), "--models", "Qwen__Qwen2-7B-Instruct,gemma-2-2b-it")
    assert pd.read_csv(seeded.model_order).model.tolist() == ["Qwen/Qwen2-7B-Instruct", "gemma-2-2b-it"]
    run(seeded, "--repo_id", str(repos.correctness), "--models", "Qwen/Qwen2-7B-Instruct")
    assert pd.read_csv(seeded.model_order).model.tolist() == ["Qwen/Qwen2-7B-Instruct"]
    with pytest.raises(DDCFError, match="does not have: nosuch/model"):
        run(seeded, "--repo_id", str(repos.correctness), "--models", "nosuch/model")


def test_a_verdict_for_a_question_outside_the_seed_table(repos, seeded, tmp_path):
    pub = pq.read_table(repos.correctness / "data" / "train-00000-of-00001.parquet").to_pandas()
    pub.loc[3, "prompt_id"] = 999999
    bad = write_dataset_repo(tmp_path / "bad", correctness_table(pub))
    with pytest.raises(InputMismatchError, match=r"1 of the 140 verdicts .* prompt_id 999999"):
        run(seeded, "--repo_id", str(bad))
    assert not seeded.model_order.exists()


def test_a_partial_repo_lacking_a_column(repos, seeded, tmp_path):
    table = pq.read_table(repos.correctness / "data" / "train-00000-of-00001.parquet").drop_columns(["check"])
    bad = write_dataset_repo(tmp_path / "bad", table)
    with pytest.raises(DDCFError, match=r"lacks the published column\(s\) check"):
        run(seeded, "--repo_id", str(bad))


def test_it_needs_the_downloaded_seed_table(repos, layout):
    with pytest.raises(DDCFError, match="download_ddcf_math_from_hf.py --which seed"):
        run(layout, "--repo_id", str(repos.correctness))
