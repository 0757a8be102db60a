"""``ddcf pull predictor`` checks every file of a published predictor before installing any (issue 25)."""

from __future__ import annotations

import json
import shlex
import time

import pytest
import torch

from ddcf.errors import DDCFError
from ddcf.io import file_sha256
from ddcf.layout import Layout
from ddcf.predictor.paper.model import CorrectnessPredictor
from ddcf.predictor.store import save_predictor

MODELS = ["org/a", "b", "c"]


def make_repo(folder, change=None, metrics=None):
    """A tiny published predictor; ``change(state_dict)`` edits the weights before they are saved."""
    torch.manual_seed(0)
    model = CorrectnessPredictor(len(MODELS), 8, 4, dropout=0.1, alpha=0.01)
    if change:
        model = change(model) or model
    folder.mkdir(parents=True, exist_ok=True)
    save_predictor(model, folder / "model.safetensors", folder / "config.json",
                   dict(models=MODELS, embedding=dict(embedding_model="e", dim=8), calibration={"temperature": 1.5}))
    if metrics is not None:
        (folder / "metrics.json").write_bytes(metrics if isinstance(metrics, bytes) else json.dumps(metrics).encode())
    return folder


def edit_config(folder, fn):
    cfg = json.loads((folder / "config.json").read_text())
    fn(cfg)
    (folder / "config.json").write_text(json.dumps(cfg))


def pull(layout, repo, *args):
    from ddcf.pull.cli import command

    return command.execute(command.parse(["--workdir", str(layout.root), "--no_progress", "predictor", str(repo),
                                          *args]))


@pytest.fixture
def installed(tmp_path):
    """A work directory that already holds a good predictor (what a bad pull must leave untouched)."""
    layout = Layout(tmp_path / "work")
    assert pull(layout, make_repo(tmp_path / "good", metrics={"final": {"predictor (x)": {"auc": 0.7}}})) == 0
    return layout


def snapshot(layout):
    return {p.name: file_sha256(p) for p in layout.predictor_dir.iterdir() if p.is_file()}


def _set(name, value):
    def change(model):
        with torch.no_grad():
            dict(model.named_parameters())[name].view(-1)[0] = value
    return change


def _to_int(model):
    sd = {k: (v * 100).to(torch.int32) for k, v in model.state_dict().items()}
    model.load_state_dict(sd)  # load_state_dict casts back: save int tensors instead
    model.state_dict = lambda: sd  # save_predictor reads state_dict()
    return model


@pytest.mark.parametrize("change, message", [
    (_set("model_embedding.weight", float("nan")), "NaN or infinite"),
    (_set("model_embedding.weight", 1e30), "magnitude 1e\\+30"),
    (_to_int, "as I32; predictor weights are floating point"),
])
def test_bad_weights_are_refused_and_nothing_is_installed(installed, tmp_path, change, message):
    before = snapshot(installed)
    bad = make_repo(tmp_path / "bad", change)
    with pytest.raises(DDCFError, match=message):
        pull(installed, bad, "--overwrite")
    assert snapshot(installed) == before


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["calibration"].update(temperature=-1.0), "calibration temperature -1.0"),
    (lambda c: c["calibration"].update(temperature="1"), "calibration temperature '1'"),
    (lambda c: c.update(models="org/a"), r"'models' = 'org/a', which is a string, where a list"),
    (lambda c: c["architecture"].update(hidden_dim="4"), "architecture 'hidden_dim' = '4'"),
    (lambda c: c.update(architecture=[1]), "where an object"),
])
def test_configs_of_wrong_types_are_refused(installed, tmp_path, edit, message):
    before = snapshot(installed)
    bad = make_repo(tmp_path / "bad")
    edit_config(bad, edit)
    with pytest.raises(DDCFError, match=message):
        pull(installed, bad, "--overwrite")
    assert snapshot(installed) == before


def test_a_huge_architecture_is_refused_before_anything_is_allocated(installed, tmp_path):
    bad = make_repo(tmp_path / "bad")
    edit_config(bad, lambda c: c["architecture"].update(hidden_dim=2_000_000_000))  # ~64 GB of fp32 weights
    t0 = time.perf_counter()
    with pytest.raises(DDCFError, match="do not have the shapes its config"):
        pull(installed, bad, "--overwrite")
    assert time.perf_counter() - t0 < 60


def test_a_config_that_is_not_utf8_is_refused(installed, tmp_path):
    bad = make_repo(tmp_path / "bad")
    (bad / "config.json").write_bytes(b"\xff" + (bad / "config.json").read_bytes())
    with pytest.raises(DDCFError, match="is not UTF-8 text"):
        pull(installed, bad, "--overwrite")


@pytest.mark.parametrize("metrics, message", [
    (b"{not json", "is not valid JSON"),
    ([1, 2], "where an object"),
    ({"final": {"predictor (x)": {"auc": "high"}}}, "not an object of numbers"),
])
def test_a_bad_metrics_file_fails_before_the_predictor_is_installed(installed, tmp_path, metrics, message):
    before = snapshot(installed)
    bad = make_repo(tmp_path / "bad", _set("model_embedding.weight", 0.5), metrics=metrics)
    with pytest.raises(DDCFError, match=message):
        pull(installed, bad, "--overwrite")
    assert snapshot(installed) == before


def test_a_repo_without_metrics_removes_the_old_ones(installed, tmp_path):
    assert installed.predictor_metrics.is_file()
    assert pull(installed, make_repo(tmp_path / "new", _set("model_embedding.weight", 0.5)), "--overwrite") == 0
    assert not installed.predictor_metrics.exists()


def test_the_printed_next_step_runs_in_this_workdir(tmp_path, capsys, monkeypatch):
    layout = Layout(tmp_path / "my work")
    monkeypatch.chdir(tmp_path)
    assert pull(layout, make_repo(tmp_path / "good")) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "next:" in ln)
    argv = shlex.split(line.split("next:", 1)[1])
    assert argv[argv.index("--workdir") + 1] == str(layout.root)
    assert argv[argv.index("--model_name") + 1] == "org/a"
