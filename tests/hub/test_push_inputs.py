"""``ddcf push``: user-provided text cannot break a card; bad repo ids and failed uploads are clear errors."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from test_pull_checks import make_repo

from ddcf.errors import DDCFError
from ddcf.hub.cards import render_card
from ddcf.layout import Layout

HOSTILE = ["evil|model", "two\nlines", "<img src=x onerror=alert(1)>", "a*b*`c`", "```"]


def matrix_facts(models):
    return {"n_models": len(models), "n_questions": 3, "n_pairs": 3 * len(models), "accuracy": 0.5,
            "val_ratio": 0.1, "split_seed": 0, "test_ratio": 0.1, "split_questions": {}, "pass_threshold": 0.5,
            "verdict_source": "<b>src</b>", "models": [(m, 3, 0.5) for m in models],
            "by_dataset": {"gsm|8k": 3}, "seed": {"source": "x\n# heading", "license": None}}


def test_hostile_names_stay_inside_their_table_cells():
    card = render_card("matrix", "me/m", "dataset", matrix_facts(HOSTILE), {}, None)
    rows = [ln for ln in card.splitlines() if ln.startswith("| ") and ln[2:3].isdigit()]
    assert len(rows) == len(HOSTILE)  # a newline did not split a row
    for row in rows:  # every row has exactly its 4 cells: no unescaped '|'
        assert len(re.split(r"(?<!\\)\|", row)) == 6, row
    assert "<img" not in card and "<b>" not in card and "&lt;img src=x" in card
    assert "\n# heading" not in card
    assert not any(ln.strip() == "```" for ln in card.split("## Use it")[0].splitlines())


def test_a_hostile_selection_model_name_is_quoted_in_the_commands():
    model = "a b\n$(rm -rf ~)"
    facts = {"model": model, "lamda": 0.2, "k": 5, "max_score": 0.9, "method": "ddcf", "n_rows": 5,
             "embedding_model": "e", "stats": {}, "chat_template": "t", "corpus": None, "seed": None,
             "predictor": None}
    card = render_card("selection", "me/s", "dataset", facts, {}, None)
    steps = card.split("## Reproduce it with this project")[1]
    command = steps[steps.index("python k_greedy_selection.py"):].split("\n```")[0]
    assert shlex.split(command)[2:4] == ["--model_name", model]
    assert "- target model: a b $(rm -rf \\~)" in card  # one line; the tilde escaped (strikethrough)


def push(layout, *args):
    from ddcf.push.cli import command

    return command.execute(command.parse(["--workdir", str(layout.root), "--no_progress", *args]))


@pytest.mark.parametrize("repo_id", ["../x", "a/../../b", "/", "a/b/c", "a--b/c", "x" * 97])
def test_an_invalid_repo_id_is_refused_before_anything(tmp_path, repo_id):
    from ddcf.push.cli import command

    with pytest.raises(DDCFError, match="is not a Hub repo id"):
        command.parse(["--workdir", str(tmp_path), "predictor", "--repo_id", repo_id])


@pytest.fixture
def with_predictor(tmp_path):
    layout = Layout(tmp_path / "work")
    make_repo(layout.predictor_dir)
    return layout


def test_push_without_network_is_a_clear_error(with_predictor, monkeypatch, capsys):
    from huggingface_hub import constants

    from ddcf.cli import main as ddcf

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: connection refused
    code = ddcf(["push", "predictor", "--workdir", str(with_predictor.root), "--repo_id", "me/p", "--no_progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "Pushing to me/p failed" in " ".join(err.split()) and "check the network" in " ".join(err.split())


def test_push_of_a_predictor_with_wrongly_typed_metrics(with_predictor, capsys):
    from ddcf.cli import main as ddcf

    with_predictor.predictor_metrics.write_text(json.dumps({"final": ["not", "a", "table"]}))
    code = ddcf(["push", "predictor", "--workdir", str(with_predictor.root), "--repo_id", "me/p", "--dry_run"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "'final'" in err and "where an object" in err
