"""Real optimizer steps of a tiny causal LM through train/sft.py's code path: loss falls, prompts carry no loss,
YaRN extension, long examples dropped, resume from a checkpoint, a finished run skipped."""

from __future__ import annotations

import json
import shutil

import pytest
from testing_utils import require_trl

from ddcf.errors import DDCFError
from ddcf.layout import Layout
from ddcf.sft.cli import main
from ddcf.sft.config import SFTConfig
from ddcf.sft.stage import prepare

pytestmark = require_trl


def cfg(model, data, out, **kw) -> SFTConfig:
    base = dict(model_name=str(model), train_file_path=str(data), output_dir=str(out), max_length=128,
                learning_rate=1e-2, warmup_ratio=0.0, per_device_train_batch_size=4, gradient_accumulation_steps=1,
                max_steps=12, save_steps=4, no_progress=True, chat_template="model", rope_extension="yarn_fit")
    base.update(kw)
    return SFTConfig(**base).validate()


def test_prompt_tokens_carry_no_loss_and_long_examples_are_dropped(chat_lm, selection_ds, tmp_path):
    prep = prepare(Layout(tmp_path), cfg(chat_lm, selection_ds, tmp_path / "out"), log=lambda *_: None)
    tok = prep.trainer.processing_class
    ds = prep.trainer.train_dataset
    assert prep.data.total == 9 and prep.data.dropped_ids == ["q_long_8"] and len(ds) == 8
    for row in ds:
        n_prompt = len(tok(row["prompt"])["input_ids"])  # TRL tokenizes the prompt the same way
        assert row["input_ids"][0] == tok.bos_token_id and row["input_ids"][1] != tok.bos_token_id  # one BOS
        assert all(label == -100 for label in row["labels"][:n_prompt])
        assert row["labels"][n_prompt:] == row["input_ids"][n_prompt:]  # every completion token is a target
        completion = tok.decode(row["input_ids"][n_prompt:])
        assert completion.startswith(row["completion"].split(" ")[0]) and completion.endswith("<|end|>\n</s>")
    batch = prep.trainer.data_collator([ds[0], ds[1]])  # what the loss sees: padding is no target either
    for i in range(2):
        n_prompt = len(tok(ds[i]["prompt"])["input_ids"])
        real = batch["attention_mask"][i].bool()
        assert (batch["labels"][i][:n_prompt] == -100).all()
        assert (batch["labels"][i][~real] == -100).all()
        assert (batch["labels"][i][n_prompt:][real[n_prompt:]] != -100).all()
    # the model has 32 positions and --max_length is 128: YaRN, factor 4, and the config says so
    rope = prep.trainer.model.config.rope_parameters
    assert rope["rope_type"] == "yarn" and rope["factor"] == 4.0 and rope["original_max_position_embeddings"] == 32
    assert prep.trainer.model.config.max_position_embeddings == 128
    assert any("YaRN" in n for n in prep.notes)
    assert any("dropped 1 of 9" in w for w in prep.warnings)
    # the paper's recipe reaches TRL's arguments (the options this test did not set keep their defaults)
    a = prep.trainer.args
    assert (a.adam_beta1, a.adam_beta2, a.weight_decay, a.learning_rate) == (0.9, 0.95, 1e-4, 1e-2)
    assert str(a.lr_scheduler_type.value) == "cosine" and a.activation_checkpointing is True
    assert a.completion_only_loss is True and a.max_length == 128 and a.use_liger_kernel is False
    assert a.bf16 is False  # no GPU here: fp32, said in the notes
    assert any(n.startswith("precision: fp32") for n in prep.notes)


def test_loss_goes_down_resume_and_skip(chat_lm, selection_ds, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--model_name", str(chat_lm), "--train_file_path", str(selection_ds), "--output_dir", str(out),
            "--max_length", "128", "--learning_rate", "1e-2", "--warmup_ratio", "0", "--max_steps", "12",
            "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1", "--save_steps", "4",
            "--no_progress", "--workdir", str(tmp_path), "--chat_template", "model", "--rope_extension", "yarn_fit"]
    assert main(argv) == 0
    report = json.loads(Layout.sft_report(out).read_text())
    assert report["steps"] == 12 and report["examples"] == 8 and report["dropped"] == 1
    losses = [loss for _, loss in report["losses"]]
    assert len(losses) == 12 and losses[-1] < losses[0] - 0.5  # repeated examples at lr 1e-2: clearly learnt
    assert (out / "model.safetensors").is_file() and (out / "sft.config.yaml").is_file()
    saved = json.loads((out / "config.json").read_text())
    assert saved["rope_parameters"]["rope_type"] == "yarn"  # the extension ships with the fine-tuned model
    printed = capsys.readouterr().out
    assert "schedule: 8 examples" in printed and "12 optimizer step(s)" in printed

    # a finished run is skipped
    assert main(argv) == 0
    assert "already holds a finished run" in capsys.readouterr().out

    # a run killed after step 8: the rerun resumes from checkpoint-8 and ends at step 12
    shutil.rmtree(out / "checkpoint-12")
    Layout.sft_report(out).unlink()
    assert main(argv) == 0
    report = json.loads(Layout.sft_report(out).read_text())
    assert report["resumed_from"].endswith("checkpoint-8") and report["steps"] == 12
    assert [s for s, _ in report["losses"]][-4:] == [9, 10, 11, 12]

    # resuming with other settings would mix two trainings: refused, naming the option
    shutil.rmtree(out / "checkpoint-12")
    Layout.sft_report(out).unlink()
    with pytest.raises(DDCFError, match="learning_rate"):
        main([*argv, "--learning_rate", "5e-3"])


def test_epochs_schedule_matches_the_trainer(chat_lm, selection_ds, tmp_path):
    # 8 examples, batch 1 x 3 accumulation: ceil(8 / 3) = 3 steps per epoch, 2 epochs = 6 steps
    c = cfg(chat_lm, selection_ds, tmp_path / "out", max_steps=None, num_train_epochs=2.0,
            per_device_train_batch_size=1, gradient_accumulation_steps=3, save_steps=100)
    prep = prepare(Layout(tmp_path), c, log=lambda *_: None)
    assert (prep.schedule.steps_per_epoch, prep.schedule.max_steps) == (3, 6)
    prep.trainer.train()
    assert prep.trainer.state.max_steps == 6 and prep.trainer.state.global_step == 6


def test_lora_trains_adapters_only(chat_lm, selection_ds, tmp_path):
    out = tmp_path / "out"
    c = cfg(chat_lm, selection_ds, out, use_peft=True, lora_r=4, lora_alpha=8, max_steps=2, save_steps=100)
    prep = prepare(Layout(tmp_path), c, log=lambda *_: None)
    model = prep.trainer.model
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    prep.trainer.train()
    prep.trainer.save_model(str(out))
    assert (out / "adapter_config.json").is_file()
