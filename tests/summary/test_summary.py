"""The run summary (python -m ddcf.summary, ddcf summary): options, and reading artifacts old and new."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ddcf import cli as ddcf_cli
from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.io import write_json, write_parquet
from ddcf.summary import render
from ddcf.summary.cli import command, main
from ddcf.summary.config import SummaryConfig

ROOT = Path(__file__).resolve().parents[2]
TARGET = "org/Target-7B"
OPTIONS = [f"--{f.name}" for f in dataclasses.fields(SummaryConfig)]


def test_help_lists_every_option_and_the_defaults_read_the_workdir():
    text = command.build_parser().format_help()
    for flag in [*OPTIONS, "--config"]:
        assert flag in text, flag
    assert "python -m ddcf.summary" in text
    c = command.parse([])
    assert (c.model_name, c.lamda, c.num_select) == (None, None, None)  # what the work directory holds


def test_config_file_and_flag_override(tmp_path):
    cfg = tmp_path / "s.yaml"
    cfg.write_text(f"model_name: {TARGET}\nlamda: 0.5\nnum_select: 40\n")
    c = command.parse(["--config", str(cfg), "--lamda", "0.3"])
    assert (c.model_name, c.lamda, c.num_select) == (TARGET, 0.3, 40)


@pytest.mark.parametrize("argv,option", [
    (["--lamda", "1.2"], "--lamda"),
    (["--lamda", "x"], "--lamda"),
    (["--num_select", "0"], "--num_select"),
])
def test_bad_values_name_the_option(argv, option, capsys):
    with pytest.raises(DDCFError, match=option):
        command.parse(argv)
    assert run_main(main, argv) == 2
    assert option in capsys.readouterr().err


def test_empty_workdir_says_what_to_run_and_writes_nothing(layout, capsys):
    layout.root.mkdir(parents=True)
    assert main(["--workdir", str(layout.root), "--model_name", TARGET]) == 0
    out = capsys.readouterr().out
    for script in ("infer.py", "create_training_data.py", "get_question_embeddings.py",
                   "train_correctness_predictor.py", "fullcorpus_difficulty_estimation.py", "k_greedy_selection.py"):
        assert script in out
    assert list(layout.root.iterdir()) == []  # no summary.config.yaml: the summary writes nothing


def _selection(layout, lamda=0.2, k=5, old=False, with_report=True):
    out = layout.selection_dir(TARGET, lamda, k)
    col = "difficulty" if old else "predicted_correctness"
    sel = pd.DataFrame({"rank": np.arange(1, k + 1), "question_id": [f"q{i}" for i in range(k)],
                        "cost": np.linspace(0.1, 0.5, k), col: np.full(k, 0.25),
                        "max_similarity": np.r_[np.nan, np.full(k - 1, 0.5)], "dataset": ["gsm8k"] * 3 + ["math"] * 2})
    write_parquet(sel, layout.selection_table(out))
    if with_report:
        key = "mean_difficulty" if old else "mean_predicted_correctness"
        write_json({"selection": {key: 0.123, "mean_pairwise_similarity": 0.4},
                    "random": {key: 0.654, "mean_pairwise_similarity": 0.5}}, layout.selection_report(out))
    return out


@pytest.mark.parametrize("old", [False, True])
def test_selection_block_reads_new_and_old_names(layout, old):
    _selection(layout, old=old)
    text = render(layout, TARGET, 0.2, 5)
    line = next(t for t in text.splitlines() if t.startswith("6 selection"))
    assert "5 questions" in line
    assert "mean predicted correctness (lower = harder)" in text
    ddcf_row = next(t for t in text.splitlines() if t.strip().startswith("DDCF ") and "summary" not in t)
    random_row = next(t for t in text.splitlines() if t.strip().startswith("random"))
    assert "0.123" in ddcf_row and "0.400" in ddcf_row and "0.654" in random_row
    assert "composition: gsm8k 3, math 2" in text


def test_old_selection_without_report_uses_the_table(layout):
    """A selection.parquet written before the rename (column 'difficulty') and no report.json."""
    _selection(layout, old=True, with_report=False)
    text = render(layout, TARGET, 0.2, 5)
    ddcf_row = next(t for t in text.splitlines() if t.strip().startswith("DDCF ") and "summary" not in t)
    assert "0.250" in ddcf_row
    assert not any(t.strip().startswith("random") for t in text.splitlines())


def test_embedding_manifests_are_read_through_the_layout(layout):
    from ddcf.io import save_embeddings

    save_embeddings(np.eye(3, 4, dtype=np.float32), ["a", "b", "c"], layout.seed_embeddings,
                    {"embedding_model": "tiny-embedder"})
    text = render(layout, TARGET, 0.2, 5)
    assert "3 seed x 4" in text and "tiny-embedder" in text


def test_module_and_ddcf_subcommand(layout, capsys):
    _selection(layout, lamda=0.3, k=5)
    r = subprocess.run([sys.executable, "-m", "ddcf.summary", "--workdir", str(layout.root), "--model_name", TARGET,
                        "--lamda", "0.3", "--num_select", "5"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "6 selection   5 questions (lamda=0.3)" in r.stdout
    assert ddcf_cli.SUBCOMMANDS["summary"][0] == "ddcf.summary.cli"
    assert ddcf_cli.main(["summary", "--workdir", str(layout.root), "--model_name", TARGET, "--lamda", "0.3",
                          "--num_select", "5"]) == 0
    assert "6 selection   5 questions" in capsys.readouterr().out
    r = subprocess.run([sys.executable, "-m", "ddcf.summary", "--lamda", "7"], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "--lamda" in r.stderr and "Traceback" not in r.stderr
    json.dumps(r.stdout)  # plain text output


# ---------------------------------------------------------------------------- issue 25: read what the workdir holds
def _difficulty(layout, model, n=4):
    write_parquet(pd.DataFrame({"question_id": [f"q{i}" for i in range(n)], "predicted_correctness": 0.5}),
                  layout.difficulty(model), metadata={"model": model})


def test_the_target_and_the_selection_are_found_without_options(layout, capsys):
    _difficulty(layout, TARGET)
    _difficulty(layout, "org/Other")  # the difficulty stage writes a table per predictor model
    _selection(layout, lamda=0.3, k=5)
    assert main(["--workdir", str(layout.root)]) == 0
    out = capsys.readouterr().out
    assert f"target {TARGET}" in out and "6 selection   5 questions (lamda=0.3)" in out
    assert f"scored for {TARGET}" in out


def test_several_targets_are_listed_not_guessed(layout):
    _difficulty(layout, TARGET)
    _difficulty(layout, "org/Other")
    text = render(layout)
    assert "2 targets have difficulty tables here (org/Other, org/Target-7B): pass --model_name" in text
    assert "Meta-Llama" not in text


def test_several_selections_of_the_target_are_listed(layout):
    _difficulty(layout, TARGET)
    _selection(layout, lamda=0.3, k=5)
    _selection(layout, lamda=0.5, k=5)
    text = render(layout)
    assert "2 runs for org/Target-7B: lamda0.3_k5, lamda0.5_k5; pass --lamda and --num_select" in text
    assert "6 selection   5 questions (lamda=0.5)" in render(layout, lamda=0.5)


def test_a_corpus_without_a_dataset_column(layout):
    _difficulty(layout, TARGET)
    write_parquet(pd.DataFrame({"question_id": ["q0", "q1"], "question": ["a", "b"], "response": ["x", "y"]}),
                  layout.corpus_questions)
    text = render(layout, TARGET, 0.2, 5)
    assert f"scored for {TARGET}" in text and "by dataset" not in text and "unreadable" not in text


def test_a_matrix_only_workflow_does_not_report_verify_missing(layout):
    write_parquet(pd.DataFrame({"model": ["a", "b"], "question_id": ["q0", "q0"], "correct": [1, 0]}), layout.matrix)
    text = render(layout, TARGET, 0.2, 5)
    assert "1 verify      not run here" in text and "missing: run infer.py" not in text
    assert "2 matrix      2 models x 1 questions" in text


def test_a_damaged_side_file_is_named_and_the_rest_still_shows(layout):
    _difficulty(layout, TARGET)
    layout.predictor_metrics.parent.mkdir(parents=True, exist_ok=True)
    layout.predictor_metrics.write_bytes(b"\xff not json")
    text = render(layout, TARGET, 0.2, 5)
    assert "4 predictor   (unreadable: The predictor metrics file" in text and "not UTF-8" in text
    assert f"scored for {TARGET}" in text


def test_variants_beside_the_selection_and_its_stability_are_shown(layout):
    out = _selection(layout)
    rep = json.loads(layout.selection_report(out).read_text())
    rep["stability"] = {"reselect_overlap": 0.507}
    write_json(rep, layout.selection_report(out))
    variant = out.parent / (out.name + "_consensus32")
    sel = pd.read_parquet(layout.selection_table(out))
    sel["question_id"] = ["q0", "q1", "q2", "x3", "x4"]  # 3 of 5 picks shared with the plain selection
    write_parquet(sel, layout.selection_table(variant))
    (out.parent / (out.name + "_signed")).mkdir()  # no table: named, not read
    (out.parent / "lamda0.2_k50").mkdir()  # another k: not a variant of this one
    text = render(layout, TARGET, 0.2, 5)
    assert "stability: a retraining of the predictor with another seed would keep ~51% of the picks" in text
    assert "also: lamda0.2_k5_consensus32, 5 questions, 60% of them shared with this one" in text
    assert "also: lamda0.2_k5_signed (unreadable: rerun it)" in text
    assert "lamda0.2_k50" not in text.split("6 selection")[1]
