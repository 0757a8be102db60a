"""The whole pipeline on a small slice of the bundled real data, through the `ddcf` command.

The slice's selection (ids in pick order) and predictor metrics are compared with
``tests/golden/e2e_slice.json`` at the same seeds: restructuring the package must not change a single
pick.  The file was first written before the "one house" refactor; it was rewritten (intentionally) when
the split gained a test side and the default predictor became the factor ensemble (issue 12).  To rewrite
it after an intended change of results: ``DDCF_UPDATE_GOLDEN=1 pytest tests/test_end_to_end.py``, and say
why in the commit.
"""

import dataclasses
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ddcf.bundled.files import CORPUS, SEED_COMPLETIONS
from ddcf.cli import SUBCOMMANDS
from ddcf.cli import main as ddcf
from ddcf.io import write_parquet
from ddcf.layout import Layout

TARGET = "Meta-Llama-3-8B-Instruct"
ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden" / "e2e_slice.json"
SCRIPTS = ["download_ddcf_math_from_hf.py", "download_binary_correctness_from_hf.py", "infer.py",
           "create_training_data.py", "get_question_embeddings.py", "train_correctness_predictor.py",
           "fullcorpus_difficulty_estimation.py", "k_greedy_selection.py"]


@pytest.fixture(scope="module")
def slice_inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    comp = pd.read_parquet(SEED_COMPLETIONS)
    models = [TARGET, "gemma-2-2b-it", "gemma-2-9b-it", "gpt-4o-2024-05-13", "Qwen2-7B-Instruct",
              "claude-3-haiku-20240307"]
    q = comp.drop_duplicates("question_id").sort_values("question_id")
    qids = pd.concat([q[q.dataset == "gsm8k"].head(80), q[q.dataset == "math"].head(60)])["question_id"]
    comp = comp[comp.model.isin(models) & comp.question_id.isin(set(qids))]
    comp_path = tmp / "completions.parquet"
    comp.to_parquet(comp_path)
    corpus = pd.read_parquet(CORPUS)
    corpus = pd.concat([corpus[corpus.dataset == ds].head(n) for ds, n in (("gsm8k", 100), ("math", 80), ("aime", 20))])
    return tmp, comp_path, corpus, models


def test_pipeline_end_to_end(slice_inputs):
    from ddcf.summary import render

    tmp, comp_path, corpus, models = slice_inputs
    work = tmp / "work"
    layout = Layout(work)
    write_parquet(corpus.reset_index(drop=True), layout.corpus_questions)
    w = ["--workdir", str(work)]

    assert ddcf(["verify", *w, "--completions", str(comp_path), "--workers", "2"]) == 0
    verdicts = pd.concat(pd.read_parquet(layout.verdicts(m)) for m in models)
    assert len(verdicts) == len(pd.read_parquet(comp_path))
    # the real outputs are graded sensibly: strong models beat weak ones on GSM8K
    acc = verdicts[verdicts.dataset == "gsm8k"].groupby("model").correct.mean()
    assert acc["gpt-4o-2024-05-13"] > acc["gemma-2-2b-it"] and acc["gpt-4o-2024-05-13"] > 0.85

    assert ddcf(["matrix", *w]) == 0
    assert ddcf(["embed", *w, "--no_progress"]) == 0
    assert ddcf(["predictor", *w, "--ensemble", "2", "--no_progress"]) == 0
    metrics = json.loads(layout.predictor_metrics.read_text())
    assert metrics["final_split"] == "test"
    assert 0.5 < metrics["final"]["predictor (factor)"]["accuracy"] <= 1.0

    assert ddcf(["difficulty", *w, "--model_name", TARGET, "--no_progress"]) == 0
    diff = pd.read_parquet(layout.difficulty(TARGET))
    assert set(diff.question_id) == set(corpus.question_id)
    assert diff.predicted_correctness.between(0, 1).all()
    # AIME should look harder than GSM8K for this model
    j = diff.merge(corpus, on="question_id")
    means = j.groupby("dataset").predicted_correctness.mean()
    assert means["aime"] < means["gsm8k"]

    assert ddcf(["select", *w, "--model_name", TARGET, "--num_select", "40"]) == 0
    out = layout.selection_dir(TARGET, 0.2, 40)
    sel = pd.read_parquet(layout.selection_table(out))
    assert len(sel) == 40 and sel.question_id.is_unique
    assert sel["rank"].tolist() == sorted(sel["rank"].tolist())
    from datasets import load_from_disk

    ds = load_from_disk(str(layout.selection_dataset(out)))
    assert len(ds) == 40 and "text" in ds.column_names
    first = corpus.set_index("question_id").loc[sel.question_id.iloc[0]]
    assert first.question in ds[0]["text"] and first.response in ds[0]["text"]

    # Same picks, same metrics as the golden run.
    if os.environ.get("DDCF_UPDATE_GOLDEN") == "1":
        keep = ("accuracy", "auc", "ece", "log_loss", "mean_model_auc")
        GOLDEN.write_text(json.dumps({
            "selection_ids": sel.question_id.tolist(),
            "predictor": {k: metrics["final"]["predictor (factor)"][k] for k in keep},
            "difficulty_sum": float(diff.predicted_correctness.sum())}, indent=1) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert sel.question_id.tolist() == golden["selection_ids"]
    # The picks are exact.  The metrics and the sum of predicted correctness come from float32 training whose last
    # bits differ between CPUs/BLAS builds (same code and seed: ECE moved by 1.4e-9 and the sum of ~1,000 values by
    # 7.6e-6 between two machines of one kind), so they are compared to a tolerance far below any real change.
    for name, value in golden["predictor"].items():
        assert metrics["final"]["predictor (factor)"][name] == pytest.approx(value, rel=0, abs=1e-6), name
    assert float(diff.predicted_correctness.sum()) == pytest.approx(golden["difficulty_sum"], abs=1e-3)

    # Every stage wrote the options it ran with, and they repeat the run.
    for folder, stage in ((layout.verdicts_dir, "verify"), (layout.correctness_dir, "matrix"),
                          (layout.embeddings_dir, "embed"), (layout.predictor_dir, "predictor"),
                          (layout.factorized, "difficulty"), (out, "select")):
        resolved = layout.resolved_config(folder, stage)
        assert resolved.is_file(), resolved
        assert isinstance(yaml.safe_load(resolved.read_text()), dict)
    again = yaml.safe_load(layout.resolved_config(layout.predictor_dir, "predictor").read_text())
    assert again["ensemble"] == 2 and again["arch"] == "factor"

    text = render(layout, TARGET, 0.2, 40)
    assert "missing" not in text and "6 selection" in text


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_stage_script_has_help(script):
    r = subprocess.run([sys.executable, str(ROOT / script), "--help"], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "--workdir" in r.stdout and "--config" in r.stdout


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_ddcf_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as e:
        ddcf([name, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--config" in out and "--workdir" in out
    config = importlib.import_module(SUBCOMMANDS[name][0]).command.config
    missing = [f.name for f in dataclasses.fields(config)
               if (f.name if f.metadata.get("positional") else f"--{f.name}") not in out]
    assert not missing, f"ddcf {name} --help does not explain {missing}"


def test_ddcf_lists_its_commands_and_rejects_unknown_ones(capsys):
    assert ddcf(["--help"]) == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out
    assert ddcf(["nosuchstage"]) == 2
    assert "there is no command 'nosuchstage'" in capsys.readouterr().err


def test_help_is_fast_and_light():
    """Building any parser must not import torch, pandas, numpy or the verifier."""
    code = ("import sys\nfrom ddcf.cli import SUBCOMMANDS, main\nfrom ddcf.infer import main as infer\n"
            "for argv in [[name, '--help'] for name in SUBCOMMANDS]:\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "try:\n    infer(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'pandas', 'numpy', 'math_verify', 'transformers') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "HEAVY []" in r.stdout, r.stdout[-500:] + r.stderr
