"""Local folders laid out exactly like the three published repos, built from the bundled real data.

The column names and dtypes are the published ones, written here by hand (not through ddcf.hub.schemas), so
the tests check the mapping against an independent description of the repos:

* seed:        data/train-00000-of-00001.parquet  prompt_id int64, prompt, gold, type (MATH subject or GSM8K)
* fullcorpus:  fullcorpus_math.csv                prompt_id, prompt, response, gold, subject, len
* correctness: data/train-00000-of-00001.parquet  model ('/' as '__'), prompt_id int64, prompt, completion, gold,
                                                  prediction, check (bool), len int64
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ddcf.bundled.files import CORPUS, SEED_COMPLETIONS

TARGET = "Meta-Llama-3-8B-Instruct"
# one model gets an owner prefix, as Hub model ids have: published as 'Qwen__Qwen2-7B-Instruct'
RENAMED = {"Qwen2-7B-Instruct": "Qwen/Qwen2-7B-Instruct"}
MODELS = [TARGET, "gemma-2-2b-it", "gemma-2-9b-it", "gpt-4o-2024-05-13", "Qwen2-7B-Instruct",
          "claude-3-haiku-20240307"]
SUBJECTS = ["Algebra", "Number Theory", "Geometry", "Precalculus"]
SEED_PID0, CORPUS_PID0 = 1000, 50000  # published ids are not row positions


@dataclass
class Repos:
    seed: Path
    corpus: Path
    correctness: Path
    seed_pub: pd.DataFrame  # the published seed rows, with our question_id beside them (for oracles)
    corpus_pub: pd.DataFrame
    graded: pd.DataFrame  # our grader's verdicts of the same completions, ids as the download writes them


def write_dataset_repo(folder: Path, table: pa.Table, row_group_size: int | None = None, card: str = "") -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "data" / "train-00000-of-00001.parquet", row_group_size=row_group_size)
    if card:
        (folder / "README.md").write_text(card)
    return folder


def seed_table(seed_pub: pd.DataFrame) -> pa.Table:
    return pa.table({"prompt_id": pa.array(seed_pub["prompt_id"], pa.int64()),
                     "prompt": pa.array(seed_pub["prompt"], pa.string()),
                     "gold": pa.array(seed_pub["gold"], pa.string()),
                     "type": pa.array(seed_pub["type"], pa.string())})


def correctness_table(rows: pd.DataFrame) -> pa.Table:
    return pa.table({"model": pa.array(rows["model"], pa.string()),
                     "prompt_id": pa.array(rows["prompt_id"], pa.int64()),
                     "prompt": pa.array(rows["prompt"], pa.string()),
                     "completion": pa.array(rows["completion"], pa.string()),
                     "gold": pa.array(rows["gold"], pa.string()),
                     "prediction": pa.array(rows["prediction"], pa.string()),
                     "check": pa.array(rows["check"], pa.bool_()),
                     "len": pa.array(rows["len"], pa.int64())})


@pytest.fixture(scope="session")
def repos(tmp_path_factory) -> Repos:
    from ddcf.verify.grade import grade_completions

    tmp = tmp_path_factory.mktemp("published")
    comp = pd.read_parquet(SEED_COMPLETIONS)
    q = comp.drop_duplicates("question_id").sort_values("question_id")
    q = pd.concat([q[q.dataset == "gsm8k"].head(80), q[q.dataset == "math"].head(60)]).reset_index(drop=True)
    # published ids in a shuffled order, so a positional join would be caught
    q["prompt_id"] = SEED_PID0 + q.sample(frac=1.0, random_state=0).index.to_numpy()
    q["type"] = ["GSM8K" if d == "gsm8k" else SUBJECTS[i % len(SUBJECTS)] for i, d in enumerate(q.dataset)]
    seed_pub = pd.DataFrame({"prompt_id": q.prompt_id, "prompt": q.question, "gold": q.gold, "type": q.type,
                             "question_id": "seed/" + q.prompt_id.astype(str), "dataset": q.dataset,
                             "bundled_id": q.question_id})
    seed = write_dataset_repo(tmp / "DDCF-seed-math", seed_table(seed_pub), card="---\nlicense: mit\n---\n# seed\n")

    c = comp[comp.model.isin(MODELS) & comp.question_id.isin(set(q.question_id))].copy()
    c = c.merge(q[["question_id", "prompt_id"]], on="question_id")
    c["question_id"] = "seed/" + c.prompt_id.astype(str)
    c["model"] = c.model.replace(RENAMED)
    graded = grade_completions(c[["model", "question_id", "question", "gold", "dataset", "completion"]],
                               workers=1, progress=False)
    rows = graded.merge(c[["model", "question_id", "prompt_id"]], on=["model", "question_id"])
    rows = rows.sort_values(["model", "prompt_id"], kind="stable")
    pub = pd.DataFrame({"model": rows.model.str.replace("/", "__"), "prompt_id": rows.prompt_id,
                        "prompt": rows.question, "completion": rows.completion, "gold": rows.gold,
                        "prediction": rows.prediction.astype(object).where(rows.prediction.notna(), None),
                        "check": rows.correct.astype(bool), "len": rows.completion.str.len()})
    # small row groups: a model's rows span several, and a row group holds two models
    correctness = write_dataset_repo(tmp / "DDCF-binary-correctness-math", correctness_table(pub), row_group_size=97)

    corpus = pd.read_parquet(CORPUS)
    corpus = pd.concat([corpus[corpus.dataset == ds].head(n) for ds, n in (("gsm8k", 100), ("math", 80),
                                                                             ("aime", 20))]).reset_index(drop=True)
    corpus_pub = pd.DataFrame({"prompt_id": CORPUS_PID0 + corpus.index * 3, "prompt": corpus.question,
                               "response": corpus.response, "gold": corpus.answer, "subject": corpus.dataset,
                               "len": corpus.response.str.len(), "bundled_id": corpus.question_id})
    (tmp / "DDCF-fullcorpus-math").mkdir()
    corpus_pub.drop(columns="bundled_id").to_csv(tmp / "DDCF-fullcorpus-math" / "fullcorpus_math.csv", index=False)
    return Repos(seed, tmp / "DDCF-fullcorpus-math", correctness, seed_pub, corpus_pub, graded)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hub cache of the test's own (offline: HF_HUB_OFFLINE=1 is set by tests/conftest.py)."""
    from huggingface_hub import constants

    cache = tmp_path / "hub_cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def put_in_hub_cache(cache: Path, repo_id: str, folder: Path, repo_type: str = "dataset",
                     commit: str = "0123456789abcdef0123456789abcdef01234567") -> Path:
    """Lay ``folder`` out as huggingface_hub's cache holds a downloaded repo (refs/main -> snapshots/<commit>)."""
    import shutil

    base = cache / f"{repo_type}s--{repo_id.replace('/', '--')}"
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(commit)
    snap = base / "snapshots" / commit
    shutil.copytree(folder, snap)
    return snap
