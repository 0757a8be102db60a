"""The selection's Hugging Face dataset -> a prompt-completion dataset for TRL's SFTTrainer.

Input: a dataset saved with ``save_to_disk`` (the selection's ``dataset/`` folder, see
:mod:`ddcf.select.sft_dataset`, or any dataset with ``question`` + ``response`` columns, or a ``messages``
column of user/assistant turns).  Its ``text`` column is not read: the prompt is rendered here, in the format
``--chat_template`` names, from the question and response themselves.

Formats (``--chat_template``):

* ``reference`` (default): the released DDCF code's (:mod:`ddcf.chat_format`): ``prompt`` = the ChatML system
  turn "Please reason step by step, ..." + the question as user turn + ``<|im_start|>assistant\n``;
  ``completion`` = the response followed by EOS (the released code trains on prompt + response, and TRL appends
  EOS), no ``<|im_end|>``.  Prompt + completion is byte for byte the released ``text`` + EOS;
* ``model``: the tokenizer's own chat template: ``prompt`` = the user turn rendered with the generation prompt
  (``add_generation_prompt=True``), ``completion`` = what the whole conversation adds after it (the response and
  the template's end-of-turn marker) followed by EOS;
* ``chatml`` (the built-in ChatML template, no system turn) or a ``.jinja`` file: like ``model``, with that
  template set on the tokenizer.

TRL's SFTTrainer then puts the loss on the completion tokens only (``completion_only_loss``): everything up to
and including the assistant start is masked, as the released code's completion-only collator does with its
response template ``<|im_start|>assistant\n``.  Examples whose prompt + completion exceed ``max_length`` tokens
are dropped and counted, never truncated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ddcf.chat_format import MODEL, REFERENCE, reference_prompt
from ddcf.errors import DDCFError, first_line
from ddcf.io import has_visible_text
from ddcf.runtime import progress as bar
from ddcf.sft.config import CHATML

#: ChatML as a Jinja chat template (for --chat_template chatml), the layout of ddcf.select.sft_dataset.render_chatml
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' "
    "+ '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass
class PreparedData:
    dataset: object  # datasets.Dataset with prompt, completion, question_id
    total: int
    dropped_ids: list[str] = field(default_factory=list)
    longest: int = 0  # tokens of the longest kept example
    notes: list[str] = field(default_factory=list)

    @property
    def dropped(self) -> int:
        return len(self.dropped_ids)


def set_chat_template(tokenizer, chat_template: str | None, model_name: str) -> str:
    """Apply ``--chat_template`` (or check the tokenizer has one for ``model``); returns what the prompts are
    rendered with.  ``reference`` leaves the tokenizer as it is (the format is fixed text)."""
    if chat_template in (None, REFERENCE):
        return "the released code's prompt format (--chat_template reference)"
    if chat_template == CHATML:
        tokenizer.chat_template = CHATML_TEMPLATE
        return "chatml (built in, --chat_template chatml)"
    if chat_template != MODEL:
        path = Path(chat_template)
        if not path.is_file():
            raise DDCFError(f"--chat_template {path} is none of {REFERENCE}, {MODEL}, {CHATML} and no existing "
                            "Jinja template file.",
                            f"pass --chat_template {REFERENCE} (default), {MODEL}, {CHATML} or the path of a .jinja "
                            "chat template.")
        tokenizer.chat_template = path.read_text()
        return f"chat template {path}"
    if not getattr(tokenizer, "chat_template", None):
        raise DDCFError(
            f"The tokenizer of {model_name} has no chat template, so --chat_template {MODEL} cannot render the "
            "prompts.",
            f"pass --chat_template {REFERENCE} (the released code's format, the default), {CHATML} (the built-in "
            "ChatML layout) or FILE.jinja (e.g. the chat_template of the instruct version of the model), or train "
            "an instruct model.",
        )
    return "the tokenizer's chat template (--chat_template model)"


def load_examples(path: str | Path):
    """The dataset on disk as (datasets.Dataset, kind) with kind 'question_response' or 'messages'."""
    from datasets import DatasetDict, load_from_disk

    p = Path(path)
    fix = ("pass the dataset/ folder of a selection run (DDCF_data/selection/<model>/lamda<l>_k<k>/dataset, written "
           "by k_greedy_selection.py) or any dataset saved with datasets' save_to_disk that has question and "
           "response columns (or messages)")
    if not p.is_dir():
        raise DDCFError(f"The training dataset {p} (--train_file_path) does not exist.", fix + ".")
    try:
        ds = load_from_disk(str(p))
    except Exception as exc:  # noqa: BLE001 - any loader error becomes one message naming the folder
        raise DDCFError(f"{p} is not a Hugging Face dataset saved on disk ({type(exc).__name__}: "
                        f"{first_line(exc)}).", fix + ".") from None
    if isinstance(ds, DatasetDict):
        if "train" not in ds:
            raise DDCFError(f"The dataset {p} has the splits {', '.join(ds)} but no 'train' split.", fix + ".")
        ds = ds["train"]
    cols = set(ds.column_names)
    if {"question", "response"} <= cols:
        kind = "question_response"
    elif "messages" in cols:
        kind = "messages"
    else:
        raise DDCFError(f"The dataset {p} has the columns {', '.join(sorted(cols)) or '(none)'}; training needs "
                        "question and response (or messages).", fix + ".")
    if len(ds) == 0:
        raise DDCFError(f"The dataset {p} has no examples.", fix + ".")
    return ds, kind


def _turns(row: dict, kind: str, index: int, path) -> tuple[str, str]:
    if kind == "question_response":
        q, r = row["question"], row["response"]
    else:
        msgs = row["messages"] or []
        users = [m["content"] for m in msgs if m.get("role") == "user"]
        answers = [m["content"] for m in msgs if m.get("role") == "assistant"]
        q, r = (users[0] if users else None), (answers[-1] if answers else None)
    # the pipeline's one emptiness rule: whitespace or zero-width characters only is empty too (str.strip() is not)
    if not isinstance(q, str) or not has_visible_text(q) or not isinstance(r, str) or not has_visible_text(r):
        qid = row.get("question_id", f"row {index}")
        raise DDCFError(f"The example {qid!r} of {path} has an empty question or response.",
                        "fill in or drop such examples, or rerun k_greedy_selection.py (it refuses them).")
    return q, r


def render_pair(tokenizer, question: str, response: str, chat_template: str | None = MODEL) -> tuple[str, str]:
    """(prompt, completion) text of one example (see the module docstring); ``chat_template`` ``reference``
    renders the released code's format, anything else the tokenizer's chat template as set by
    :func:`set_chat_template`."""
    eos = tokenizer.eos_token
    if chat_template == REFERENCE:
        prompt, completion = reference_prompt(question), response
    else:
        user = [{"role": "user", "content": question}]
        prompt = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": response}], tokenize=False)
        # The template's end-of-turn marker belongs to the completion; a template that renders the prompt
        # differently alone (e.g. drops a thinking block) still trains on the response.
        completion = full[len(prompt):] if full.startswith(prompt) else response
    if eos and not completion.endswith(eos):
        completion += eos
    bos = tokenizer.bos_token
    if bos and prompt.startswith(bos) and _adds_bos(tokenizer):
        prompt = prompt[len(bos):]  # the tokenizer adds BOS itself when TRL tokenizes: never twice
    return prompt, completion


def _adds_bos(tokenizer) -> bool:
    ids = tokenizer("a")["input_ids"]
    return bool(ids) and tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id


def build_prompt_completion(ds, kind: str, tokenizer, max_length: int, path, progress: bool = True,
                            batch: int = 256, chat_template: str | None = MODEL) -> PreparedData:
    """Prompt-completion rows for TRL; examples longer than ``max_length`` tokens dropped and counted."""
    from datasets import Dataset

    prompts, completions, ids = [], [], []
    for i, row in enumerate(ds):
        q, r = _turns(row, kind, i, path)
        p, c = render_pair(tokenizer, q, r, chat_template)
        prompts.append(p)
        completions.append(c)
        ids.append(str(row.get("question_id", i)))
    lengths: list[int] = []
    with bar(total=len(prompts), desc="counting tokens", unit="ex", enabled=progress) as pb:
        for start in range(0, len(prompts), batch):
            # TRL tokenizes prompt + completion with the tokenizer's own special tokens: count the same way
            texts = [p + c for p, c in zip(prompts[start:start + batch], completions[start:start + batch])]
            lengths.extend(len(x) for x in tokenizer(texts)["input_ids"])
            pb.update(len(texts))
    keep = [i for i, n in enumerate(lengths) if n <= max_length]
    data = PreparedData(
        dataset=Dataset.from_dict({"prompt": [prompts[i] for i in keep],
                                   "completion": [completions[i] for i in keep],
                                   "question_id": [ids[i] for i in keep]}),
        total=len(prompts),
        dropped_ids=[ids[i] for i, n in enumerate(lengths) if n > max_length],
        longest=max((lengths[i] for i in keep), default=0),
    )
    if not keep:
        raise DDCFError(f"Every one of the {len(prompts):,} examples of {path} is longer than --max_length "
                        f"{max_length:,} tokens (the shortest has {min(lengths):,}).",
                        "raise --max_length (the paper trains on 16,384 tokens).")
    return data
