"""Which token pads the batches, asked of the tokenizer itself (no model-family name matching).

1. The tokenizer's own pad token, when it has one.
2. Else a special token the tokenizer already has but the training text never uses: an added special token that
   is not EOS/BOS/UNK, not an end-of-sequence id of the model, and neither in the chat template's source nor
   in a conversation it renders.  Tokens
   named as padding (``<|finetune_right_pad_id|>``, ``<|fim_pad|>``) come first, then reserved/unused ones
   (``<|reserved_special_token_0|>``), then any other such token, lowest id first.
3. Else EOS, with a warning: TRL's collator masks padding by position, so the EOS loss survives, but any tool
   that masks labels by the pad *id* would stop the model learning to end its answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from ddcf.errors import DDCFError

_PAD_NAME = re.compile(r"pad", re.IGNORECASE)
_RESERVED_NAME = re.compile(r"reserved|unused", re.IGNORECASE)


@dataclass(frozen=True)
class PadChoice:
    token: str
    token_id: int
    source: str  # "tokenizer", "reserved", "eos"
    note: str
    warning: str | None = None


def choose_pad_token(tokenizer, exclude_ids: Iterable[int] = ()) -> PadChoice:
    """The pad token for ``tokenizer`` (see the module docstring); does not modify the tokenizer."""
    if tokenizer.pad_token is not None and tokenizer.pad_token_id is not None:
        same = tokenizer.pad_token_id == tokenizer.eos_token_id
        extra = (" (the same id as EOS: TRL's collator masks padding by position, so the EOS loss is kept)"
                 if same else "")
        return PadChoice(tokenizer.pad_token, int(tokenizer.pad_token_id), "tokenizer",
                         f"pad token {tokenizer.pad_token!r} (the tokenizer's own){extra}")
    reserved = unused_special_tokens(tokenizer, exclude_ids)
    if reserved:
        token, token_id = reserved[0]
        return PadChoice(token, token_id, "reserved",
                         f"pad token {token!r} (id {token_id}): the tokenizer has no pad token, so an unused "
                         "special token it already has pads the batches")
    if tokenizer.eos_token is None:
        raise DDCFError(
            "The tokenizer has neither a pad token, nor an unused special token, nor an EOS token.",
            "use a tokenizer with an EOS token (every causal LM tokenizer should have one), or add a pad token to "
            "its tokenizer_config.json.",
        )
    return PadChoice(
        tokenizer.eos_token, int(tokenizer.eos_token_id), "eos",
        f"pad token {tokenizer.eos_token!r} = EOS",
        warning=(f"the tokenizer has no pad token and no unused special token, so EOS {tokenizer.eos_token!r} pads "
                 "the batches; TRL masks padding by position so the EOS loss is kept here, but tools that mask "
                 "labels by the pad id would never train EOS. Add a pad token to the tokenizer to avoid this."),
    )


def unused_special_tokens(tokenizer, exclude_ids: Iterable[int] = ()) -> list[tuple[str, int]]:
    """Added special tokens no training sequence contains, best pad candidates first."""
    skip = {i for i in (tokenizer.eos_token_id, tokenizer.bos_token_id, tokenizer.unk_token_id) if i is not None}
    skip |= {int(i) for i in exclude_ids}
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else str(
        tokenizer.chat_template or "")
    template += _rendered_sample(tokenizer)  # a template may build its markers, e.g. '<|' + role + '|>'
    found = []
    for token_id, added in sorted(tokenizer.added_tokens_decoder.items()):
        text = added.content
        if not added.special or token_id in skip or text in template:
            continue
        rank = 0 if _PAD_NAME.search(text) else 1 if _RESERVED_NAME.search(text) else 2
        found.append((rank, token_id, text))
    return [(text, token_id) for _, token_id, text in sorted(found)]


def _rendered_sample(tokenizer) -> str:
    if not getattr(tokenizer, "chat_template", None):
        return ""
    sample = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
              {"role": "assistant", "content": "a"}]
    out = []
    for messages in (sample, sample[1:]):  # some templates refuse a system turn
        try:
            out.append(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        except Exception:  # noqa: BLE001 - a template that rejects the sample adds nothing to exclude
            continue
    return "".join(out)


def apply_pad(tokenizer, model, choice: PadChoice) -> None:
    """Set the chosen pad token on the tokenizer and the model's configs (saved with the fine-tuned model)."""
    tokenizer.pad_token = choice.token
    model.config.pad_token_id = choice.token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = choice.token_id


def model_eos_ids(model_config, generation_config=None) -> set[int]:
    """Every id the model treats as end of sequence (config and generation config may list several)."""
    ids: set[int] = set()
    for cfg in (model_config, generation_config):
        value = getattr(cfg, "eos_token_id", None) if cfg is not None else None
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    return ids
