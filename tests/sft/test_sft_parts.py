"""The parts of stage 7 one at a time: Table 4, pad-token choice, YaRN extension, prompt rendering, bad input."""

from __future__ import annotations

import pytest

from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.sft.cli import main
from ddcf.sft.rope import extend_context
from ddcf.sft.schedule import resolve_schedule, table4
from ddcf.sft.tokens import choose_pad_token


# ---------------------------------------------------------------------------- Table 4
@pytest.mark.parametrize("n, expected", [(1, (4, 32)), (1000, (4, 32)), (16_000, (4, 32)), (16_001, (3, 64)),
                                         (32_000, (3, 64)), (32_001, (3, 128)), (64_000, (3, 128)),
                                         (220_000, (3, 128))])
def test_table4_at_its_boundaries(n, expected):
    assert table4(n) == expected


def test_schedule_reaches_the_table_batch_over_processes():
    s = resolve_schedule(1000, world_size=1, per_device_batch=1, grad_accum=None, epochs=None, max_steps=None)
    assert (s.epochs, s.grad_accum, s.effective_batch, s.steps_per_epoch, s.max_steps) == (4, 32, 32, 32, 128)
    s = resolve_schedule(1000, world_size=8, per_device_batch=1, grad_accum=None, epochs=None, max_steps=None)
    assert (s.grad_accum, s.effective_batch, s.steps_per_epoch, s.max_steps) == (4, 32, 32, 128)
    s = resolve_schedule(40_000, world_size=8, per_device_batch=2, grad_accum=None, epochs=None, max_steps=None)
    assert (s.epochs, s.effective_batch, s.max_steps) == (3, 128, 3 * 313)
    s = resolve_schedule(1000, world_size=1, per_device_batch=3, grad_accum=None, epochs=None, max_steps=None)
    assert s.effective_batch == 33 and "nearest reachable batch is 33" in s.describe()
    s = resolve_schedule(1000, world_size=2, per_device_batch=1, grad_accum=2, epochs=1.0, max_steps=7)
    assert (s.effective_batch, s.max_steps) == (4, 7) and "(given)" in s.describe()


# ---------------------------------------------------------------------------- pad token
def _tok(chat_lm, pad: bool, extra=()):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(chat_lm)
    if extra:
        tok.add_tokens(list(extra), special_tokens=True)
    if not pad:
        tok.pad_token = None
    return tok


def test_pad_token_from_the_tokenizer(chat_lm):
    choice = choose_pad_token(_tok(chat_lm, pad=True))
    assert (choice.token, choice.source, choice.warning) == ("<pad>", "tokenizer", None)


def test_pad_token_reserved_special_token_first(chat_lm):
    tok = _tok(chat_lm, pad=False, extra=["<|tool|>", "<|reserved_special_token_3|>", "<|my_pad|>"])
    # the tokenizer lost its pad setting but still has the <pad> token: named as padding, lowest id
    choice = choose_pad_token(tok)
    assert (choice.token, choice.source, choice.warning) == ("<pad>", "reserved", None)
    pad_id = tok.convert_tokens_to_ids("<pad>")
    assert choose_pad_token(tok, exclude_ids=[pad_id]).token == "<|my_pad|>"
    tok = _tok(chat_lm, pad=False, extra=["<|tool|>", "<|reserved_special_token_3|>"])
    assert choose_pad_token(tok, exclude_ids=[pad_id]).token == "<|reserved_special_token_3|>"
    # an end-of-sequence id of the model is never a pad candidate
    reserved = tok.convert_tokens_to_ids("<|reserved_special_token_3|>")
    assert choose_pad_token(tok, exclude_ids=[pad_id, reserved]).token == "<|tool|>"


def test_pad_token_falls_back_to_eos_with_a_warning(chat_lm):
    # no pad token, and the other special tokens are the role markers of the chat template: all in use
    tok = _tok(chat_lm, pad=False)
    choice = choose_pad_token(tok, exclude_ids=[tok.convert_tokens_to_ids("<pad>")])
    assert (choice.token, choice.source) == ("</s>", "eos") and "EOS" in choice.warning


# ---------------------------------------------------------------------------- YaRN
def _config(ctx, **rope):
    from transformers import LlamaConfig

    c = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                    vocab_size=100, max_position_embeddings=ctx)
    if rope:
        c.rope_parameters = {**c.rope_parameters, **rope}
    return c


def test_yarn_extension_factor_and_no_change_when_long_enough():
    c = _config(4096)
    note = extend_context(c, 16384, "yarn_fit", "Qwen/Qwen2.5-Math-7B")
    assert c.rope_parameters["rope_type"] == "yarn" and c.rope_parameters["factor"] == 4.0
    assert c.rope_parameters["original_max_position_embeddings"] == 4096 and c.max_position_embeddings == 16384
    assert c.rope_parameters["rope_theta"] == 10000.0 and "YaRN" in note and "4,096" in note
    c = _config(32768)
    assert extend_context(c, 16384) is None and c.rope_parameters["rope_type"] == "default"
    c = _config(4096)  # every example fits the model's own context: left as it is, and said so
    note = extend_context(c, 16384, "none", "m", longest=4096)
    assert "no extension needed" in note and c.rope_parameters["rope_type"] == "default"
    assert c.max_position_embeddings == 4096


def test_yarn_refusals():
    with pytest.raises(DDCFError, match="--rope_extension is none"):
        extend_context(_config(4096), 16384, "none")
    with pytest.raises(DDCFError, match="'linear' already"):
        extend_context(_config(4096, rope_type="linear", factor=2.0), 16384)


# ---------------------------------------------------------------------------- prompt rendering
def test_chatml_template_for_a_tokenizer_without_one(chat_lm):
    from ddcf.sft.data import render_pair, set_chat_template

    tok = _tok(chat_lm, pad=True)
    tok.chat_template = None
    with pytest.raises(DDCFError, match="--chat_template model cannot"):
        set_chat_template(tok, "model", "m")
    set_chat_template(tok, "chatml", "m")
    prompt, completion = render_pair(tok, "Q?", "A.", "chatml")
    assert prompt == "<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n"
    assert completion == "A.<|im_end|>\n</s>"


# ---------------------------------------------------------------------------- bad input: one paragraph, exit 2
def _error(argv, capsys) -> str:
    capsys.readouterr()  # drop what the test's own setup printed
    assert run_main(main, argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().startswith("error")
    return " ".join(err.split())


def test_dataset_without_the_needed_columns(chat_lm, tmp_path, capsys):
    from datasets import Dataset

    Dataset.from_dict({"foo": ["a"], "bar": ["b"]}).save_to_disk(str(tmp_path / "ds"))
    err = _error(["--model_name", str(chat_lm), "--train_file_path", str(tmp_path / "ds"), "--output_dir",
                  str(tmp_path / "o"), "--no_progress"], capsys)
    assert "bar, foo" in err and "question and response" in err


def test_missing_dataset_and_missing_model(chat_lm, selection_ds, tmp_path, capsys):
    err = _error(["--model_name", str(chat_lm), "--workdir", str(tmp_path), "--no_progress"], capsys)
    assert "does not exist" in err and "k_greedy_selection.py" in err
    err = _error(["--model_name", str(tmp_path / "no_model"), "--train_file_path", str(selection_ds),
                  "--output_dir", str(tmp_path / "o"), "--no_progress"], capsys)
    assert "no_model" in err and "--model_name" in err
    err = _error(["--model_name", str(chat_lm), "--train_file_path", str(selection_ds)], capsys)
    assert "--output_dir" in err


def test_tokenizer_without_a_chat_template(chat_lm, selection_ds, tmp_path, capsys):
    import json
    import shutil

    model = tmp_path / "base"
    shutil.copytree(chat_lm, model)
    cfg_path = model / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("chat_template", None)
    cfg_path.write_text(json.dumps(cfg))
    (model / "chat_template.jinja").unlink(missing_ok=True)
    err = _error(["--model_name", str(model), "--train_file_path", str(selection_ds), "--output_dir",
                  str(tmp_path / "o"), "--no_progress", "--chat_template", "model"], capsys)
    assert "no chat template" in err and "chatml" in err


def test_help_says_what_fits_where(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "ZeRO-3" in out and "--use_peft" in out and "80 GB" in out and "Table 4" in out


@pytest.mark.parametrize("question,response", [("\u200b\u200b", "42"), ("What is 6*7?", " \u200b\ufeff ")])
def test_zero_width_only_turns_are_empty(question, response):
    """A question or response of zero-width characters only is as empty as whitespace (str.strip() keeps them)."""
    from ddcf.sft.data import _turns

    with pytest.raises(DDCFError, match="empty question or response"):
        _turns({"question": question, "response": response, "question_id": "q1"}, "question_response", 0, "ds")
    assert _turns({"question": "What is 6*7?", "response": "42"}, "question_response", 0, "ds") == ("What is 6*7?",
                                                                                                  "42")
