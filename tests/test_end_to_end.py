"""The whole pipeline on a small slice of the bundled real data, through the stage scripts' entry points."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from ddcf.data.bundled import CORPUS, SEED_COMPLETIONS
from ddcf.io import write_parquet
from ddcf.layout import Layout

TARGET = "Meta-Llama-3-8B-Instruct"
ROOT = SEED_COMPLETIONS.parents[2]


@pytest.fixture(scope="module")
def slice_inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    comp = pd.read_parquet(SEED_COMPLETIONS)
    models = [TARGET, "gemma-2-2b-it", "gemma-2-9b-it", "gpt-4o-2024-05-13", "Qwen2-7B-Instruct", "claude-3-haiku-20240307"]
    q = comp.drop_duplicates("question_id").sort_values("question_id")
    qids = pd.concat([q[q.dataset == "gsm8k"].head(80), q[q.dataset == "math"].head(60)])["question_id"]
    comp = comp[comp.model.isin(models) & comp.question_id.isin(set(qids))]
    comp_path = tmp / "completions.parquet"
    comp.to_parquet(comp_path)
    corpus = pd.read_parquet(CORPUS)
    corpus = pd.concat([corpus[corpus.dataset == ds].head(n) for ds, n in (("gsm8k", 100), ("math", 80), ("aime", 20))])
    return tmp, comp_path, corpus, models


def test_pipeline_end_to_end(slice_inputs):
    from ddcf.embed.cli import main as embed_main
    from ddcf.infer_cli import main as infer_main
    from ddcf.matrix_cli import main as matrix_main
    from ddcf.predictor.cli import main as train_main
    from ddcf.difficulty_cli import main as difficulty_main
    from ddcf.select.cli import main as select_main
    from ddcf.summary import render

    tmp, comp_path, corpus, models = slice_inputs
    work = tmp / "work"
    layout = Layout(work)
    write_parquet(corpus.reset_index(drop=True), layout.corpus_questions)
    w = ["--workdir", str(work)]

    assert infer_main(w + ["--completions", str(comp_path), "--workers", "2"]) == 0
    verdicts = pd.concat(pd.read_parquet(layout.verdicts(m)) for m in models)
    assert len(verdicts) == len(pd.read_parquet(comp_path))
    # the real outputs are graded sensibly: strong models beat weak ones on GSM8K
    acc = verdicts[verdicts.dataset == "gsm8k"].groupby("model").correct.mean()
    assert acc["gpt-4o-2024-05-13"] > acc["gemma-2-2b-it"] and acc["gpt-4o-2024-05-13"] > 0.85

    assert matrix_main(w) == 0
    assert embed_main(w + ["--no_progress"]) == 0
    assert train_main(w + ["--epochs", "5", "--no_progress"]) == 0
    metrics = json.loads(layout.predictor_metrics.read_text())
    assert 0.5 < metrics["final"]["predictor (paper)"]["accuracy"] <= 1.0

    assert difficulty_main(w + ["--model_name", TARGET, "--no_progress"]) == 0
    diff = pd.read_parquet(layout.difficulty(TARGET))
    assert set(diff.question_id) == set(corpus.question_id)
    assert diff.predicted_correctness.between(0, 1).all()
    # AIME should look harder than GSM8K for this model
    j = diff.merge(corpus, on="question_id")
    means = j.groupby("dataset").predicted_correctness.mean()
    assert means["aime"] < means["gsm8k"]

    assert select_main(w + ["--model_name", TARGET, "--num_select", "40"]) == 0
    out = layout.selection_dir(TARGET, 0.2, 40)
    sel = pd.read_parquet(out / "selection.parquet")
    assert len(sel) == 40 and sel.question_id.is_unique
    assert sel["rank"].tolist() == sorted(sel["rank"].tolist())
    from datasets import load_from_disk

    ds = load_from_disk(str(out / "dataset"))
    assert len(ds) == 40 and "text" in ds.column_names
    first = corpus.set_index("question_id").loc[sel.question_id.iloc[0]]
    assert first.question in ds[0]["text"] and first.response in ds[0]["text"]

    text = render(layout, TARGET, 0.2, 40)
    assert "missing" not in text and "6 selection" in text


@pytest.mark.parametrize(
    "script",
    ["infer.py", "create_training_data.py", "get_question_embeddings.py", "train_correctness_predictor.py",
     "fullcorpus_difficulty_estimation.py", "k_greedy_selection.py"],
)
def test_every_stage_script_has_help(script):
    r = subprocess.run([sys.executable, str(ROOT / script), "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "--workdir" in r.stdout
