"""Hostile or malformed published repos (issue 25): escapes, colliding ids and names, invisible texts, null types."""

from __future__ import annotations

import time

import pandas as pd
import pyarrow as pa
import pytest
from hub_repos import correctness_table, put_in_hub_cache, seed_table, write_dataset_repo

from ddcf.download.cli import command as download_cmd
from ddcf.download_correctness.cli import command as correctness_cmd
from ddcf.errors import DDCFError
from ddcf.io import blank_text


def download(layout, *args):
    return download_cmd.execute(download_cmd.parse(["--workdir", str(layout.root), "--no_progress", *args]))


def correctness(layout, *args):
    return correctness_cmd.execute(correctness_cmd.parse(["--workdir", str(layout.root), "--no_progress", *args]))


def _outside_table(tmp_path, repos):
    """A Parquet file outside any repo, holding rows a hostile card wants us to read."""
    outside = tmp_path / "secret"
    outside.mkdir()
    import pyarrow.parquet as pq

    pq.write_table(seed_table(repos.seed_pub.head(5)), outside / "train.parquet")
    return outside / "train.parquet"


@pytest.mark.parametrize("kind", ["absolute", "dotdot"])
def test_a_card_pointing_outside_the_repo_is_refused(repos, layout, tmp_path, kind):
    secret = _outside_table(tmp_path, repos)
    repo = tmp_path / "hostile" / "repo"
    path = str(secret) if kind == "absolute" else "../../secret/train.parquet"
    write_dataset_repo(repo, seed_table(repos.seed_pub),
                       card=f"---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
                            f"    path: {path}\n---\n")
    with pytest.raises(DDCFError, match="outside the repo"):
        download(layout, "--which", "seed", "--seed_repo_id", str(repo))
    assert not layout.seed_questions.exists()


def test_a_card_pointing_outside_the_hub_snapshot_is_refused(repos, layout, tmp_path, hub_cache):
    secret = _outside_table(tmp_path, repos)
    repo = write_dataset_repo(tmp_path / "src", seed_table(repos.seed_pub),
                              card=f"---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
                                   f"    path: {secret}\n---\n")
    put_in_hub_cache(hub_cache, "iNLP-Lab/DDCF-seed-math", repo)
    with pytest.raises(DDCFError, match="outside the repo"):
        download(layout, "--which", "seed")


def test_a_symlink_out_of_a_local_repo_is_refused(repos, layout, tmp_path):
    secret = _outside_table(tmp_path, repos)
    repo = tmp_path / "linked"
    (repo / "data").mkdir(parents=True)
    (repo / "data" / "train-00000-of-00001.parquet").symlink_to(secret)
    with pytest.raises(DDCFError, match="outside the repo"):
        download(layout, "--which", "seed", "--seed_repo_id", str(repo))


@pytest.mark.parametrize("option", ["--seed_repo_id", "--fullcorpus_repo_id"])
def test_the_file_system_root_as_a_repo_is_refused_at_once(layout, option):
    which = "seed" if option == "--seed_repo_id" else "fullcorpus"
    t0 = time.perf_counter()
    with pytest.raises(DDCFError, match="is the root of the file system"):
        download(layout, "--which", which, option, "/")
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("ids", [
    [1e30, 1e30 + 1e14],  # distinct floats that become one int64
    [2.0 ** 63, 2.0 ** 63 + 4096.0],  # beyond int64
    [2.0 ** 53, 2.0 ** 53 + 2],  # integral floats past exact range: could be rounded already
])
def test_seed_ids_that_do_not_round_trip_are_refused(repos, layout, tmp_path, ids):
    t = seed_table(repos.seed_pub.head(2))
    t = t.set_column(0, "prompt_id", pa.array(ids, pa.float64()))
    bad = write_dataset_repo(tmp_path / "bad", t)
    with pytest.raises(DDCFError, match="prompt_id, or one that is not exactly an integer"):
        download(layout, "--which", "seed", "--seed_repo_id", str(bad))
    assert not layout.seed_questions.exists()


def test_integral_float_seed_ids_in_range_are_kept_exactly(repos, layout, tmp_path):
    t = seed_table(repos.seed_pub.head(2))
    t = t.set_column(0, "prompt_id", pa.array([7.0, 2.0 ** 52], pa.float64()))
    download(layout, "--which", "seed", "--seed_repo_id", str(write_dataset_repo(tmp_path / "ok", t)))
    assert pd.read_parquet(layout.seed_questions).question_id.tolist() == ["seed/7", f"seed/{2 ** 52}"]


def test_a_null_type_is_refused_not_graded_as_math(repos, layout, tmp_path):
    pub = repos.seed_pub.head(4).copy()
    pub["type"] = pub["type"].astype(object)
    pub.loc[pub.index[0], "type"] = None
    bad = write_dataset_repo(tmp_path / "nulltype", seed_table(pub))
    with pytest.raises(DDCFError, match=r"1 row\(s\) .* have no type"):
        download(layout, "--which", "seed", "--seed_repo_id", str(bad))


ZERO_WIDTH = ["\u200b", "\u200b\u200d \ufeff", "\u2060\n\u00ad", "\u3000\u200c"]


def test_zero_width_only_corpus_prompts_are_refused(repos, layout, tmp_path):
    bad = tmp_path / "zw"
    bad.mkdir()
    cp = repos.corpus_pub.drop(columns="bundled_id").copy()
    cp.loc[3, "prompt"] = "\u200b\u200d \ufeff"
    cp.to_csv(bad / "fullcorpus_math.csv", index=False)
    with pytest.raises(DDCFError, match="1 row\\(s\\) with an empty prompt"):
        download(layout, "--which", "fullcorpus", "--fullcorpus_repo_id", str(bad))


def test_zero_width_only_corpus_responses_are_counted(repos, layout, tmp_path):
    from ddcf.download.config import DownloadConfig
    from ddcf.download.stage import run

    bad = tmp_path / "zwr"
    bad.mkdir()
    cp = repos.corpus_pub.drop(columns="bundled_id").copy()
    cp.loc[3, "response"] = "\u2060\n\u00ad"
    cp.to_csv(bad / "fullcorpus_math.csv", index=False)
    rep = run(layout, DownloadConfig(which="fullcorpus", fullcorpus_repo_id=str(bad), no_progress=True).validate())
    assert any(w.startswith("1 corpus question(s) have an empty response") for w in rep.warnings)


def test_the_arrow_blank_rule_agrees_with_blank_text():
    from ddcf.hub.corpus_csv import blank_mask

    texts = ["", " ", "a", "\u200b", "\u200ba", *ZERO_WIDTH, "\xa0", "x\u200b", "\x1f", "\u2028", "0", "\t\u00ad"]
    got = blank_mask(pa.array(texts, pa.string())).to_pylist()
    assert got == blank_text(pd.Series(texts)).tolist()


# ---------------------------------------------------------------------------- download-correctness names
@pytest.fixture
def seeded(repos, layout):
    download(layout, "--which", "seed", "--seed_repo_id", str(repos.seed))
    return layout


def _correctness_repo(repos, tmp_path, names: dict):
    """The published correctness table with some models renamed (published spelling)."""
    import pyarrow.parquet as pq

    pub = pq.read_table(next((repos.correctness / "data").glob("*.parquet"))).to_pandas()
    pub["model"] = pub["model"].replace(names)
    return write_dataset_repo(tmp_path / "renamed", correctness_table(pub))


def test_published_names_that_restore_to_one_model_are_refused(repos, seeded, tmp_path):
    repo = _correctness_repo(repos, tmp_path, {"gemma-2-2b-it": "a/b", "gemma-2-9b-it": "a__b"})
    with pytest.raises(DDCFError, match="'a/b' and 'a__b'.*same model"):
        correctness(seeded, "--repo_id", str(repo))
    assert not seeded.verdicts("a/b").exists()


def test_a_model_named_like_a_file_suffix_keeps_its_own_table(repos, seeded, tmp_path):
    """'x.passrate' and 'x' must not share files, and x.passrate's verdicts must not read as x's pass rates."""
    from ddcf.artifacts.verdicts import verdict_files

    repo = _correctness_repo(repos, tmp_path, {"gemma-2-2b-it": "x.passrate", "gemma-2-9b-it": "x"})
    correctness(seeded, "--repo_id", str(repo))
    path = seeded.verdicts("x.passrate")
    assert path.is_file() and path != seeded.passrates("x")
    assert not path.name.endswith(".passrate.parquet")
    assert path in verdict_files(seeded)
    assert pd.read_parquet(path).model.unique().tolist() == ["x.passrate"]


def test_correctness_ids_that_do_not_round_trip_are_refused(repos, seeded, tmp_path):
    import pyarrow.parquet as pq

    pub = pq.read_table(next((repos.correctness / "data").glob("*.parquet"))).to_pandas()
    t = correctness_table(pub).set_column(1, "prompt_id", pa.array(pub["prompt_id"].astype(float) + 2.0 ** 63))
    repo = write_dataset_repo(tmp_path / "bigids", t)
    with pytest.raises(DDCFError, match="not exactly an integer"):
        correctness(seeded, "--repo_id", str(repo))


def test_printed_next_steps_carry_the_workdir(repos, seeded, capsys, monkeypatch, tmp_path):
    import shlex

    monkeypatch.chdir(tmp_path)
    download(seeded, "--which", "seed", "--seed_repo_id", str(repos.seed))
    correctness(seeded, "--repo_id", str(repos.correctness))
    out = capsys.readouterr().out
    steps = [shlex.split(ln.split(":", 1)[1], comments=True) for ln in out.splitlines()
             if ln.strip().startswith(("next:", "or:"))]
    assert [s[1] for s in steps] == ["get_question_embeddings.py", "download_binary_correctness_from_hf.py",
                                     "create_training_data.py"]
    for argv in steps:
        assert argv[0] == "python" and argv[2:] == ["--workdir", str(seeded.root)]
