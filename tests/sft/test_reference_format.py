"""SFT text, loss mask and YaRN settings against values of the released code.

``data/reference_sft.json`` was produced by running the released DDCF code (github.com/iNLP-Lab/DDCF, commit
434f9d5) outside this project, with the project's .venv python:

* ``sft``: ``k_greedy_selection.build_and_save_dataset`` on a 3-row corpus CSV (these questions and responses,
  all three selected); ``text`` is the saved dataset's text column;
* ``yarn``: ``train/sft.py`` ``_maybe_extend_context_length(cfg, 16384)`` (16,384 = train/run.sh's block size) on
  stand-in configs with ``max_position_embeddings`` 4096 / 32768 / 16384 and ``rope_scaling`` None: what the
  function leaves on them;
* ``constants``: train/sft.py's ``RESPONSE_TEMPLATE`` / ``INSTRUCTION_TEMPLATE`` (its completion-only collator's).

The released trainer (TRL 0.19.0, pinned in its requirements) appends the tokenizer's EOS to a ``text`` that does
not end with it (``SFTTrainer._prepare_dataset``, "Adding EOS"), so what it trains on is ``text`` + EOS.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from testing_utils import require_trl

from ddcf.layout import Layout
from ddcf.select.sft_dataset import build_records, resolve_renderer
from ddcf.sft.config import SFTConfig
from ddcf.sft.data import render_pair
from ddcf.sft.rope import extend_context

REF = json.loads((Path(__file__).parent / "data" / "reference_sft.json").read_text())
EOS = "<|endoftext|>"
CHATML = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def build_chatml_lm(out: Path, max_positions: int = 64) -> Path:
    """A Qwen-like tiny LM: byte-level BPE, no BOS, EOS <|endoftext|>, ChatML markers, a ChatML template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    texts = [r["text"] for r in REF["sft"]] * 3
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=[EOS, "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS,
                                   additional_special_tokens=["<|im_start|>", "<|im_end|>"])
    fast.chat_template = CHATML
    fast.save_pretrained(out)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(fast), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=max_positions,
                      eos_token_id=fast.eos_token_id, bos_token_id=None)
    LlamaForCausalLM(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def chatml_lm(tmp_path_factory) -> Path:
    return build_chatml_lm(tmp_path_factory.mktemp("chatml_lm"))


def test_selection_text_column_is_the_released_text():
    rows = pd.DataFrame([(f"q{i}", r["question"], r["response"], "demo", i) for i, r in enumerate(REF["sft"])],
                        columns=["question_id", "question", "response", "dataset", "rank"])
    render, _ = resolve_renderer()  # the default template
    assert build_records(rows, render)["text"] == [r["text"] for r in REF["sft"]]


def test_sft_prompt_and_completion_are_the_released_text_plus_eos(chatml_lm):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(chatml_lm)
    assert SFTConfig.__dataclass_fields__["chat_template"].default == "reference"
    for r in REF["sft"]:
        prompt, completion = render_pair(tok, r["question"], r["response"], "reference")
        assert prompt + completion == r["text"] + EOS  # byte for byte, EOS as TRL 0.19 appends it
        assert prompt.endswith(REF["constants"]["RESPONSE_TEMPLATE"]) and completion == r["response"] + EOS


def _reference_mask(input_ids: list[int], response_ids: list[int]) -> list[bool]:
    """Which positions the released collator (TRL DataCollatorForCompletionOnlyLM with instruction and response
    templates, one user turn) trains on: everything after the first response template."""
    n = len(response_ids)
    start = next(i for i in range(len(input_ids)) if input_ids[i:i + n] == response_ids)
    return [i >= start + n for i in range(len(input_ids))]


@require_trl
def test_loss_mask_starts_after_the_released_response_template(chatml_lm, tmp_path):
    from datasets import Dataset

    from ddcf.sft.stage import prepare

    data = tmp_path / "ds"
    Dataset.from_dict({"question": [r["question"] for r in REF["sft"]],
                       "response": [r["response"] for r in REF["sft"]]}).save_to_disk(str(data))
    cfg = SFTConfig(model_name=str(chatml_lm), train_file_path=str(data), output_dir=str(tmp_path / "out"),
                    max_length=256, max_steps=1, per_device_train_batch_size=1, gradient_accumulation_steps=1,
                    no_progress=True).validate()
    prep = prepare(Layout(tmp_path), cfg, log=lambda *_: None)
    tok = prep.trainer.processing_class
    response_ids = tok.encode(REF["constants"]["RESPONSE_TEMPLATE"], add_special_tokens=False)
    rows = list(prep.trainer.train_dataset)
    assert len(rows) == len(REF["sft"])
    for row, r in zip(rows, REF["sft"]):
        assert tok.decode(row["input_ids"]) == r["text"] + EOS
        ours = [label != -100 for label in row["labels"]] if "labels" in row else [
            bool(m) for m in row["completion_mask"]]
        assert ours == _reference_mask(row["input_ids"], response_ids)
    # the 64-position model trained on 256 tokens: the released YaRN settings, whatever the examples' length
    config = prep.trainer.model.config
    assert config.max_position_embeddings == 256
    rope = config.rope_parameters
    assert (rope["rope_type"], rope["factor"], rope["original_max_position_embeddings"]) == ("yarn", 2.0, 256)


def _llama(ctx: int):
    from transformers import LlamaConfig

    return LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                       vocab_size=100, max_position_embeddings=ctx)


@pytest.mark.parametrize("ctx", ["4096", "32768", "16384"])
def test_yarn_reference_settings(ctx):
    ref = REF["yarn"][ctx]
    c = _llama(int(ctx))
    note = extend_context(c, 16384, "yarn_reference", "m", longest=10)  # applied whatever the examples' length
    assert c.max_position_embeddings == ref["max_position_embeddings"]
    if ref["rope_scaling"] is None:
        assert note is None and c.rope_parameters["rope_type"] == "default"
    else:
        got = {k: c.rope_parameters[k] for k in ("rope_type", "factor", "original_max_position_embeddings")}
        assert got == ref["rope_scaling"] and "released" in note
        assert c.rope_parameters["rope_theta"] == 10000.0  # the model's own theta kept


def test_yarn_fit_is_the_other_option():
    c = _llama(4096)
    extend_context(c, 16384, "yarn_fit", "m", longest=5000)
    assert (c.rope_parameters["factor"], c.rope_parameters["original_max_position_embeddings"]) == (4.0, 4096)
    assert SFTConfig.__dataclass_fields__["rope_extension"].default == "yarn_reference"
