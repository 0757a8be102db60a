"""Stage 0 (download_ddcf_math_from_hf.py / ddcf download) on folders laid out like the published repos."""

from __future__ import annotations

import pandas as pd
import pytest
from hub_repos import put_in_hub_cache, seed_table, write_dataset_repo

from ddcf.cli import main as ddcf
from ddcf.download.cli import command
from ddcf.errors import DDCFError
from ddcf.io import read_parquet_metadata


def download(layout, *args):
    return command.execute(command.parse(["--workdir", str(layout.root), "--no_progress", *args]))


def test_fixture_repos_load_like_the_hub(repos):
    from datasets import load_dataset

    ds = load_dataset(str(repos.seed), split="train")
    assert ds.column_names == ["prompt_id", "prompt", "gold", "type"] and len(ds) == 140
    assert load_dataset(str(repos.correctness), split="train").features["check"].dtype == "bool"


def test_download_both_writes_the_layout_tables(repos, layout, capsys):
    code = ddcf(["download", "--workdir", str(layout.root), "--which", "both", "--seed_repo_id", str(repos.seed),
                 "--fullcorpus_repo_id", str(repos.corpus), "--no_progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "seed questions   140 (80 gsm8k, 60 math)" in out and "corpus questions 200" in out

    seed = pd.read_parquet(layout.seed_questions)
    want = repos.seed_pub
    assert seed.question_id.tolist() == want.question_id.tolist()
    assert seed.question.tolist() == want.prompt.tolist() and seed.gold.tolist() == want.gold.tolist()
    assert seed.dataset.tolist() == want.dataset.tolist()  # GSM8K -> gsm8k, a MATH subject -> math
    assert seed.subject.tolist() == ["" if t == "GSM8K" else t for t in want.type]
    meta = read_parquet_metadata(layout.seed_questions)
    assert meta["license"] == "mit" and meta["local_folder"] == str(repos.seed) and meta["rows"] == 140

    corpus = pd.read_parquet(layout.corpus_questions)
    cp = repos.corpus_pub
    assert corpus.question_id.tolist() == ("corpus/" + cp.prompt_id.astype(str)).tolist()
    assert corpus.question.tolist() == cp.prompt.tolist() and corpus.response.tolist() == cp.response.tolist()
    assert corpus.answer.tolist() == cp.gold.astype(str).tolist() and corpus.subject.tolist() == cp.subject.tolist()
    assert corpus.len.tolist() == cp.len.tolist() and set(corpus.dataset) == {"openr1_math"}
    assert layout.resolved_config(layout.data, "download").is_file()


def test_the_same_tables_as_the_stages_read(repos, layout):
    """Later stages read the downloaded tables with their own readers."""
    from ddcf.artifacts.corpus import read_corpus
    from ddcf.generate.questions import load_seed_questions

    download(layout, "--seed_repo_id", str(repos.seed), "--fullcorpus_repo_id", str(repos.corpus))
    assert len(load_seed_questions(layout)) == 140
    assert len(read_corpus(layout)) == 200


@pytest.mark.parametrize("change, message", [
    (lambda t: t.drop_columns(["type"]), r"lacks the published column\(s\) type"),
    (lambda t: t.set_column(0, "prompt_id", pa_ids([1, 1] + list(range(2, 138)))), "repeats 1 prompt_id"),
    (lambda t: t.set_column(1, "prompt", pa_str(["  "] + ["q"] * 137)), "have an empty prompt"),
])
def test_a_mismatched_seed_repo_is_refused(repos, layout, tmp_path, change, message):
    table = change(seed_table(repos.seed_pub).slice(0, 138))
    bad = write_dataset_repo(tmp_path / "bad_seed", table)
    with pytest.raises(DDCFError, match=message):
        download(layout, "--which", "seed", "--seed_repo_id", str(bad))
    assert not layout.seed_questions.exists()


def pa_ids(values):
    import pyarrow as pa

    return pa.array(values, pa.int64())


def pa_str(values):
    import pyarrow as pa

    return pa.array(values, pa.string())


def test_a_missing_split_names_the_splits_it_has(repos, layout):
    with pytest.raises(DDCFError, match=r"has no split 'test' \(splits found: train\)"):
        download(layout, "--which", "seed", "--seed_repo_id", str(repos.seed), "--split", "test")


def test_a_cut_short_corpus_csv_leaves_the_old_table(repos, layout, tmp_path):
    download(layout, "--which", "fullcorpus", "--fullcorpus_repo_id", str(repos.corpus))
    before = layout.corpus_questions.read_bytes()
    partial = tmp_path / "partial"
    partial.mkdir()
    data = (repos.corpus / "fullcorpus_math.csv").read_bytes()
    cut = data.index(b'"', len(data) // 2)  # inside a quoted, multi-line response
    (partial / "fullcorpus_math.csv").write_bytes(data[: cut + 40])
    with pytest.raises(DDCFError, match="malformed or cut short"):
        download(layout, "--which", "fullcorpus", "--fullcorpus_repo_id", str(partial))
    assert layout.corpus_questions.read_bytes() == before
    assert [p.name for p in layout.corpus_questions.parent.iterdir()] == ["questions.parquet"]  # no temp file left


def test_a_corpus_repo_without_the_csv(layout, tmp_path):
    empty = tmp_path / "corpus_repo"
    empty.mkdir()
    (empty / "README.md").write_text("# nothing here\n")
    with pytest.raises(DDCFError, match=r"fullcorpus_math.csv .* is missing \(the repo holds: README.md\)"):
        download(layout, "--which", "fullcorpus", "--fullcorpus_repo_id", str(empty))


def test_a_corpus_csv_with_duplicate_ids(repos, layout, tmp_path):
    bad = tmp_path / "dup"
    bad.mkdir()
    cp = repos.corpus_pub.drop(columns="bundled_id").copy()
    cp.loc[5, "prompt_id"] = cp.loc[4, "prompt_id"]
    cp.to_csv(bad / "fullcorpus_math.csv", index=False)
    with pytest.raises(DDCFError, match="repeats 1 prompt_id"):
        download(layout, "--which", "fullcorpus", "--fullcorpus_repo_id", str(bad))


def test_offline_from_the_hub_cache_and_row_counts(repos, layout, hub_cache):
    """HF_HUB_OFFLINE=1 with the repo in the cache: it is used, and the count differs from the published 19,470."""
    put_in_hub_cache(hub_cache, "iNLP-Lab/DDCF-seed-math", repos.seed)
    report = download(layout, "--which", "seed")
    assert report == 0
    meta = read_parquet_metadata(layout.seed_questions)
    assert meta["repo_id"] == "iNLP-Lab/DDCF-seed-math" and meta["commit"].startswith("0123456789ab")
    from ddcf.download.config import DownloadConfig
    from ddcf.download.stage import run

    rep = run(layout, DownloadConfig(which="seed", no_progress=True).validate())
    assert any("has 140 rows; the published one has 19,470" in w for w in rep.warnings)


def test_offline_without_a_cached_copy_says_what_to_do(layout, hub_cache, capsys):
    code = ddcf(["download", "--workdir", str(layout.root), "--which", "seed", "--no_progress"])
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "HF_HUB_OFFLINE=1" in err and "'iNLP-Lab/DDCF-seed-math'" in err and "not in the local Hub cache" in err
    assert "unset HF_HUB_OFFLINE" in err and "--seed_repo_id the path of a folder" in err
    assert "Traceback" not in err


def test_offline_with_a_revision_that_is_not_cached(repos, layout, hub_cache):
    put_in_hub_cache(hub_cache, "iNLP-Lab/DDCF-seed-math", repos.seed)
    with pytest.raises(DDCFError, match="revision v2.*not in the local Hub cache"):
        download(layout, "--which", "seed", "--revision", "v2")


def test_neither_folder_nor_repo_id(layout):
    with pytest.raises(DDCFError, match="neither an existing local folder nor a Hub repo id"):
        download(layout, "--which", "seed", "--seed_repo_id", "./no/such/folder")


def test_the_published_corpus_keeps_repeated_texts_unless_asked(repos, layout, tmp_path):
    """The released pipeline selects from every published row, so repeats are kept (and counted) by default;
    --no_keep_duplicates drops them, the first id kept."""
    rep = tmp_path / "rep"
    rep.mkdir()
    cp = repos.corpus_pub.drop(columns="bundled_id").copy()
    cp.loc[7, "prompt"] = "  " + cp.loc[3, "prompt"] + "\n"  # the same text up to whitespace
    cp.to_csv(rep / "fullcorpus_math.csv", index=False)
    download(layout, "--which", "fullcorpus", "--fullcorpus_repo_id", str(rep))
    kept = pd.read_parquet(layout.corpus_questions)
    assert len(kept) == 200
    from ddcf.artifacts.corpus import provenance

    assert provenance(layout)["duplicate_texts"] == 1 and provenance(layout)["keep_duplicates"] is True
    download(layout, "--which", "fullcorpus", "--fullcorpus_repo_id", str(rep), "--no_keep_duplicates")
    dropped = pd.read_parquet(layout.corpus_questions)
    assert len(dropped) == 199 and ("corpus/" + str(cp.loc[7, "prompt_id"])) not in set(dropped.question_id)
    assert ("corpus/" + str(cp.loc[3, "prompt_id"])) in set(dropped.question_id)
