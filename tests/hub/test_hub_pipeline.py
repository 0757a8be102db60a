"""Start from the Hub, publish to the Hub: the whole pipeline on the downloaded repos, then push and pull.

Everything is offline: the repos are local folders laid out like the published ones, and the push goes to
a mocked ``HfApi``.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from hub_repos import TARGET

from ddcf.cli import main as ddcf
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import file_sha256, manifest_path
from ddcf.layout import Layout

K = 20


@pytest.fixture(scope="module")
def done(repos, tmp_path_factory) -> Layout:
    from ddcf.bundled.files import install_bundled_embedding_cache

    layout = Layout(tmp_path_factory.mktemp("hubrun") / "work")
    w = ["--workdir", str(layout.root), "--no_progress"]
    assert ddcf(["download", *w, "--seed_repo_id", str(repos.seed), "--fullcorpus_repo_id", str(repos.corpus)]) == 0
    assert ddcf(["download-correctness", *w, "--repo_id", str(repos.correctness)]) == 0
    assert ddcf(["matrix", "--workdir", str(layout.root)]) == 0
    install_bundled_embedding_cache(layout)  # the corpus texts are the bundled ones: their vectors are shipped
    assert ddcf(["embed", *w]) == 0
    assert ddcf(["predictor", *w, "--ensemble", "1", "--max_epochs", "5"]) == 0
    assert ddcf(["difficulty", *w, "--model_name", TARGET]) == 0
    assert ddcf(["select", *w, "--model_name", TARGET, "--num_select", str(K)]) == 0
    return layout


def test_the_pipeline_runs_on_the_downloaded_data(done, repos):
    sel = pd.read_parquet(done.selection_table(done.selection_dir(TARGET, 0.2, K)))
    assert len(sel) == K and sel.question_id.str.startswith("corpus/").all()
    diff = pd.read_parquet(done.difficulty(TARGET))
    assert set(diff.question_id) == set("corpus/" + repos.corpus_pub.prompt_id.astype(str))


def push(layout, *args):
    return ddcf(["push", "--workdir", str(layout.root), "--no_progress", *args])


def card_of(layout, kind, repo):
    return (layout.push_dir(kind, repo) / "README.md").read_text()


def test_dry_run_selection_card_states_the_facts(done, capsys):
    repo = "me/ddcf-selection"
    assert push(done, "selection", "--repo_id", repo, "--model_name", TARGET, "--num_select", str(K),
                "--dry_run") == 0
    assert "nothing was pushed" in capsys.readouterr().out
    folder = done.push_dir("selection", repo)
    card = card_of(done, "selection", repo)
    report = json.loads((folder / "report.json").read_text())
    metrics = json.loads(done.predictor_metrics.read_text())["final"]["predictor (factor)"]
    for fact in (f"- target model: {TARGET}", "- lamda (difficulty vs diversity weight): 0.2000",
                 f"- k (questions selected): {K}", "- embedding model: packaged:all-MiniLM-L6-v2 (dim 384",
                 f"| predictor (factor) | {metrics['accuracy']:.4f} | {metrics['auc']:.4f} |",
                 f"| selection | {K} | {report['selection']['mean_predicted_correctness']:.4f} |",
                 "| random | 20 |", "| pool | 200 |",
                 f"- source corpus: local folder {done.root.parent.parent / 'published0' / 'DDCF-fullcorpus-math'}",
                 "- seed questions (predictor training): local folder", "license: mit",
                 f"python k_greedy_selection.py --model_name {TARGET} --lamda 0.2 --num_select {K}",
                 "Options of the select stage", "num_select: 20"):
        assert fact in card, fact
    header = yaml.safe_load(card.split("---")[1])
    assert header["license"] == "other"  # the seed says mit, the corpus records none: they do not agree
    from datasets import load_dataset

    sft = load_dataset(str(folder), split="train")
    assert len(sft) == K and "text" in sft.column_names
    assert pd.read_parquet(folder / "selection.parquet").question_id.tolist() == pd.read_parquet(
        done.selection_table(done.selection_dir(TARGET, 0.2, K))).question_id.tolist()


def test_dry_run_matrix_and_predictor(done):
    assert push(done, "matrix", "--repo_id", "me/m", "--dry_run") == 0
    folder = done.push_dir("matrix", "me/m")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "matrix.config.yaml", "matrix.parquet",
                                                        "model_order.csv", "test.parquet", "train.parquet",
                                                        "val.parquet"]
    card = card_of(done, "matrix", "me/m")
    assert "6 models x 140 questions: 840 observed pairs" in card and "| 1 | Qwen/Qwen2-7B-Instruct | 140 |" in card
    assert "- lamda (difficulty vs diversity weight): not applicable" in card

    assert push(done, "predictor", "--repo_id", "me/p", "--dry_run", "--license", "apache-2.0") == 0
    folder = done.push_dir("predictor", "me/p")
    assert file_sha256(folder / "model.safetensors") == file_sha256(done.predictor_weights)
    card = card_of(done, "predictor", "me/p")
    assert "license: apache-2.0" in card and "ddcf pull predictor me/p" in card
    assert "- target model: any of its 6 models" in card and "metrics (" in card


def test_a_real_push_goes_through_hfapi(done, monkeypatch):
    import huggingface_hub
    from huggingface_hub import constants

    calls = []

    class FakeApi:
        def create_repo(self, repo_id, **kw):
            calls.append(("create_repo", repo_id, kw))

        def create_branch(self, repo_id, **kw):
            calls.append(("create_branch", repo_id, kw))

        def upload_folder(self, **kw):
            calls.append(("upload_folder", kw["repo_id"], kw))
            return type("Info", (), {"commit_url": "https://huggingface.co/me/p/commit/abc"})()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert push(done, "predictor", "--repo_id", "me/p", "--private", "--revision", "v1",
                "--commit_message", "first") == 0
    assert [c[0] for c in calls] == ["create_repo", "create_branch", "upload_folder"]
    assert calls[0][2] == {"repo_type": "model", "private": True, "exist_ok": True}
    up = calls[2][2]
    assert up["revision"] == "v1" and up["commit_message"] == "first" and up["repo_type"] == "model"
    assert up["folder_path"] == str(done.push_dir("predictor", "me/p"))


def test_a_push_while_offline_is_refused_after_staging(done, capsys):
    assert push(done, "matrix", "--repo_id", "me/m2") == 2
    assert "HF_HUB_OFFLINE=1" in capsys.readouterr().err
    assert (done.push_dir("matrix", "me/m2") / "README.md").is_file()


def test_push_selection_needs_a_run(done):
    assert push(done, "selection", "--repo_id", "me/s", "--model_name", TARGET, "--num_select", "7",
                "--dry_run") == 2
    with pytest.raises(DDCFError, match="needs the run"):
        from ddcf.push.cli import command

        command.parse(["selection", "--repo_id", "me/s"])


def pull(layout, *args):
    from ddcf.pull.cli import command

    return command.execute(command.parse(["--workdir", str(layout.root), "--no_progress", *args]))


def test_pull_predictor_into_a_fresh_layout(done, tmp_path):
    push(done, "predictor", "--repo_id", "me/p", "--dry_run")
    fresh = Layout(tmp_path / "fresh")
    assert pull(fresh, "predictor", str(done.push_dir("predictor", "me/p"))) == 0
    for name in ("model.safetensors", "config.json", "metrics.json"):
        assert file_sha256(fresh.predictor_dir / name) == file_sha256(done.predictor_dir / name)
    from ddcf.predictor.store import load_predictor

    assert load_predictor(fresh.predictor_config, fresh.predictor_weights).models == pd.read_csv(
        done.model_order).model.tolist()


@pytest.mark.parametrize("field, value, message", [("dim", 768, "dim 768"),
                                                   ("embedding_model", "Qwen/Qwen3-Embedding-4B", "Qwen3-Embedding")])
def test_pull_refuses_a_predictor_of_other_embeddings(done, tmp_path, field, value, message):
    import shutil

    push(done, "predictor", "--repo_id", "me/p", "--dry_run")
    other = Layout(tmp_path / "other")
    shutil.copytree(done.embeddings_dir, other.embeddings_dir)
    manifest = json.loads(manifest_path(other.corpus_embeddings).read_text())
    manifest[field] = value
    manifest_path(other.corpus_embeddings).write_text(json.dumps(manifest))
    with pytest.raises(InputMismatchError, match=f"Refusing to pull .*{message}"):
        pull(other, "predictor", str(done.push_dir("predictor", "me/p")))
    assert not other.predictor_dir.exists()


def test_pull_does_not_replace_another_predictor_silently(done, tmp_path):
    import shutil

    push(done, "predictor", "--repo_id", "me/p", "--dry_run")
    other = Layout(tmp_path / "other")
    shutil.copytree(done.predictor_dir, other.predictor_dir)
    cfg = json.loads(other.predictor_config.read_text())
    cfg["weights_sha256"] = "0" * 64
    other.predictor_config.write_text(json.dumps(cfg))
    with pytest.raises(DDCFError, match="already holds another predictor"):
        pull(other, "predictor", str(done.push_dir("predictor", "me/p")))
    assert pull(other, "predictor", str(done.push_dir("predictor", "me/p")), "--overwrite") == 0
