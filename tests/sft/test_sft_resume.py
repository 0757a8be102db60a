"""Kills and reruns of train/sft.py (issue 25): a half-written checkpoint, a kill during the final save, and a
finished run that other options or other data must not reuse.  Kills are simulated by leaving the files a kill
leaves at that point (the Trainer writes trainer_state.json last in a checkpoint; the final save_model follows
the last checkpoint)."""

from __future__ import annotations

import json
import shutil

import pytest
from testing_utils import require_trl

from ddcf.errors import DDCFError
from ddcf.layout import Layout
from ddcf.sft import checkpoints as C
from ddcf.sft.cli import main

pytestmark = require_trl


def _argv(model, data, out, tmp_path, *more):
    return ["--model_name", str(model), "--train_file_path", str(data), "--output_dir", str(out),
            "--max_length", "128", "--learning_rate", "1e-2", "--warmup_ratio", "0", "--max_steps", "8",
            "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1", "--save_steps", "4",
            "--no_progress", "--workdir", str(tmp_path), "--chat_template", "model", "--rope_extension", "yarn_fit",
            *more]


@pytest.fixture(scope="module")
def finished(chat_lm, selection_ds, tmp_path_factory):
    """One uninterrupted 8-step run (checkpoint-4, checkpoint-8, the final model, the report)."""
    tmp = tmp_path_factory.mktemp("finished")
    out = tmp / "out"
    assert main(_argv(chat_lm, selection_ds, out, tmp)) == 0
    return out, json.loads(Layout.sft_report(out).read_text())


def _copy(finished, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(finished[0], out)
    return out


def test_half_written_checkpoint_is_moved_aside_and_the_run_resumes(finished, chat_lm, selection_ds, tmp_path,
                                                                   capsys):
    out = _copy(finished, tmp_path)
    # killed while checkpoint-8 was written: its weights are there, trainer_state.json not yet; no final save
    (out / "checkpoint-8" / C.TRAINER_STATE).unlink()
    for f in (Layout.sft_report(out), out / "model.safetensors", out / C.TRAINED):
        f.unlink(missing_ok=True)
    assert main(_argv(chat_lm, selection_ds, out, tmp_path)) == 0
    report = json.loads(Layout.sft_report(out).read_text())
    assert report["resumed_from"].endswith("checkpoint-4") and report["steps"] == 8
    assert [s for s, _ in report["losses"]] == list(range(1, 9))
    # same data order and seed as the uninterrupted run: the resumed steps give the same losses
    assert [round(v, 3) for _, v in report["losses"]] == [round(v, 3) for _, v in finished[1]["losses"]]
    assert report["train_loss"] == pytest.approx(finished[1]["train_loss"], abs=1e-3)  # the whole run's mean
    assert (out / C.INCOMPLETE / "checkpoint-8").is_dir()  # kept aside, not deleted
    assert C.trainer_state(out / "checkpoint-8") is not None  # the resumed run wrote a complete one
    assert "checkpoint-8" in capsys.readouterr().out.split("warning")[-1]


def test_truncated_trainer_state_counts_as_incomplete(tmp_path):
    for n, text in ((4, '{"global_step": 4}'), (8, '{"global_st'), (12, None)):
        d = tmp_path / f"checkpoint-{n}"
        d.mkdir()
        if text is not None:
            (d / C.TRAINER_STATE).write_text(text)
    warned = []
    assert C.last_complete(tmp_path, move_aside=False, warn=warned.append) == tmp_path / "checkpoint-4"
    assert (tmp_path / "checkpoint-12").is_dir() and not warned  # other processes only skip
    assert C.last_complete(tmp_path, move_aside=True, warn=warned.append) == tmp_path / "checkpoint-4"
    assert sorted(p.name for p in (tmp_path / C.INCOMPLETE).iterdir()) == ["checkpoint-12", "checkpoint-8"]
    assert len(warned) == 2 and all("resumed from checkpoint-4" in w for w in warned)


@pytest.mark.parametrize("marker", [True, False], ids=["after_marker", "before_marker"])
def test_kill_during_the_final_save_finishes_without_training_again(finished, chat_lm, selection_ds, tmp_path,
                                                                    marker):
    out = _copy(finished, tmp_path)
    Layout.sft_report(out).unlink()
    weights = out / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # the final save_model was cut short
    if not marker:
        (out / C.TRAINED).unlink(missing_ok=True)  # killed between the last checkpoint and the end-of-training marker
    assert main(_argv(chat_lm, selection_ds, out, tmp_path)) == 0
    report, first = json.loads(Layout.sft_report(out).read_text()), finished[1]
    assert report["steps"] == first["steps"] == 8 and report["losses"] == first["losses"]
    if marker:
        assert report["train_loss"] == first["train_loss"]
    else:  # the mean of the logged losses (one per step here)
        assert report["train_loss"] == pytest.approx(first["train_loss"], abs=1e-3)
    assert report["finished_from_checkpoint"] is True
    assert weights.read_bytes() == (out / "checkpoint-8" / "model.safetensors").read_bytes()
    assert weights.read_bytes() == (finished[0] / "model.safetensors").read_bytes()


def test_a_finished_run_is_reused_only_with_the_same_settings_and_data(finished, chat_lm, selection_ds, tmp_path,
                                                                      capsys):
    out = _copy(finished, tmp_path)
    with pytest.raises(DDCFError, match="learning_rate: 0.01 then, 0.005 now"):
        main(_argv(chat_lm, selection_ds, out, tmp_path, "--learning_rate", "5e-3"))
    assert main(_argv(chat_lm, selection_ds, out, tmp_path)) == 0
    assert "same settings and data" in capsys.readouterr().out
    other_model = tmp_path / "other_lm"
    shutil.copytree(chat_lm, other_model)
    with pytest.raises(DDCFError, match="model_name"):
        main(_argv(other_model, selection_ds, out, tmp_path))
    # the same path holding other data (a selection made again)
    data = tmp_path / "data"
    shutil.copytree(selection_ds, data)
    out2 = tmp_path / "out2"
    assert main(_argv(chat_lm, data, out2, tmp_path, "--max_steps", "1")) == 0
    arrow = next(data.glob("*.arrow"))
    arrow.write_bytes(arrow.read_bytes() + b"\0")
    with pytest.raises(DDCFError, match="train_data_sha256"):
        main(_argv(chat_lm, data, out2, tmp_path, "--max_steps", "1"))


def test_the_fine_tuned_model_keeps_its_kv_cache(finished, chat_lm):
    """The Trainer sets config.use_cache = False for training; saved as is, the fine-tuned model generated without
    its KV cache in the hf evaluation (make sft-smoke: 637 s for 256 tokens x 5 prompts)."""
    base = json.loads((chat_lm / "config.json").read_text()).get("use_cache", True)
    assert base is True
    assert json.loads((finished[0] / "config.json").read_text())["use_cache"] is True
