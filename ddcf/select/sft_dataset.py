"""The selected questions as a Hugging Face dataset ready for TRL SFT.

Columns, one row per selected question in selection order:

* ``text``: the question in a chat template followed by the corpus response (the SFT text);
* ``messages``: ``[{"role": "user", "content": question}, {"role": "assistant", "content": response}]``;
* ``question_id``, ``question``, ``response``, ``dataset``, ``rank``.

Templates (no network):

* ``reference`` (default): the released DDCF code's format (:mod:`ddcf.chat_format`): ChatML with the system
  turn "Please reason step by step, and put your final answer within \\boxed{}.", the question as the user
  turn, then the response with no end-of-turn marker (the trainer appends EOS);
* ``chatml``, rendered by :func:`render_chatml`::

      <|im_start|>user
      {question}<|im_end|>
      <|im_start|>assistant
      {response}<|im_end|>

  the generic ChatML layout used by Qwen models;
* a path to a Jinja chat-template file (the ``chat_template`` string of a
  tokenizer_config.json), rendered with ``messages`` like ``apply_chat_template``;
* ``--tokenizer PATH``: a local tokenizer folder whose own ``apply_chat_template`` is used.

The dataset directory is written atomically: saved into a temporary sibling,
then renamed into place (an older version is moved aside first and deleted after).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pandas as pd

from ddcf.chat_format import REFERENCE, render_reference
from ddcf.errors import DDCFError, first_line
from ddcf.io import atomic_dir, blank_text
from ddcf.select.config import CHATML as CHATML_NAME

Renderer = Callable[[list], str]


def render_chatml(messages: list) -> str:
    """Render chat messages in the generic ChatML layout (no generation prompt)."""
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)


def make_messages(question: str, response: str) -> list:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": response}]


def resolve_renderer(chat_template: str | None = REFERENCE, tokenizer: str | None = None) -> tuple[Renderer, str]:
    """Return (render(messages) -> text, description) for the template options of the CLI.

    ``tokenizer`` wins over ``chat_template`` (:class:`ddcf.select.config.SelectConfig` rejects both).
    """
    if tokenizer:
        return _tokenizer_renderer(tokenizer)
    if chat_template in (None, REFERENCE):
        return render_reference, "reference (the released DDCF code's ChatML with its system prompt)"
    if chat_template == CHATML_NAME:
        return render_chatml, "chatml (built in)"
    return _jinja_renderer(Path(chat_template))


def _tokenizer_renderer(path: str) -> tuple[Renderer, str]:
    p = Path(path)
    if not p.is_dir():
        raise DDCFError(
            f"The tokenizer folder {p} does not exist.",
            "pass a local folder holding tokenizer_config.json (e.g. a downloaded model), or drop --tokenizer "
            "to use the reference format (the default).",
        )
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any loader error becomes one clear message
        raise DDCFError(
            f"Could not load a tokenizer from {p}: {type(exc).__name__}: "
            f"{first_line(exc)}.",
            "pass a folder with tokenizer files, or drop --tokenizer to use the reference format.",
        ) from None
    if not getattr(tok, "chat_template", None):
        raise DDCFError(
            f"The tokenizer in {p} has no chat template.",
            "use a chat/instruct tokenizer, pass --chat_template FILE.jinja, or drop --tokenizer for the reference "
            "format.",
        )

    def render(messages: list) -> str:
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)

    return render, f"tokenizer {p}"


def _jinja_renderer(path: Path) -> tuple[Renderer, str]:
    if not path.is_file():
        raise DDCFError(
            f"--chat_template {path} is neither '{REFERENCE}', '{CHATML_NAME}' nor an existing Jinja template file.",
            f"pass --chat_template {REFERENCE} (default), {CHATML_NAME} or the path of a .jinja chat template.",
        )
    try:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        template = env.from_string(path.read_text())
        template.render(messages=make_messages("q", "r"), add_generation_prompt=False)
    except Exception as exc:  # noqa: BLE001
        raise DDCFError(
            f"The chat template {path} could not be rendered: {type(exc).__name__}: {exc}.",
            "fix the Jinja template (it receives `messages` and `add_generation_prompt`).",
        ) from None

    def render(messages: list) -> str:
        return template.render(messages=messages, add_generation_prompt=False)

    return render, f"jinja {path}"


def build_records(rows: pd.DataFrame, render: Renderer, unannotated: bool = False) -> dict:
    """Columns of the SFT dataset from a frame with question_id, question, response, dataset, rank.

    Never an example with an empty user turn or response: such rows are refused, naming their ids (a missing
    text would otherwise become the string "nan").  ``unannotated``: the corpus has no responses at all (the
    caller checked the whole corpus): every response is written empty and ``messages``/``text`` hold the user
    turn only, for ``ddcf distill`` to fill in.
    """
    checks = (("question", "user turn"),) if unannotated else (("question", "user turn"),
                                                                ("response", "assistant response"))
    for column, turn in checks:
        empty = blank_text(rows[column])
        if empty.any():
            ids = rows.loc[empty, "question_id"].astype(str).tolist()
            raise DDCFError(
                f"{len(ids):,} of the {len(rows):,} selected examples would have an empty {turn} (no {column} "
                f"text), e.g. question id(s) {', '.join(map(repr, ids[:5]))}; the SFT dataset was not written.",
                f"fill in the {column} of those questions in DDCF_data/corpus/questions.parquet (or drop them), "
                "then rerun get_question_embeddings.py, fullcorpus_difficulty_estimation.py and "
                "k_greedy_selection.py.",
            )
    questions = rows["question"].astype(str).tolist()
    if unannotated:
        responses = [""] * len(questions)
        messages = [[{"role": "user", "content": q}] for q in questions]
    else:
        responses = rows["response"].astype(str).tolist()
        messages = [make_messages(q, r) for q, r in zip(questions, responses)]
    return {
        "text": [render(m) for m in messages],
        "messages": messages,
        "question_id": rows["question_id"].astype(str).tolist(),
        "question": questions,
        "response": responses,
        "dataset": rows["dataset"].astype(str).tolist(),
        "rank": [int(r) for r in rows["rank"]],
    }


def save_dataset_atomic(records: dict, target: str | os.PathLike, progress: bool = True) -> Path:
    """``datasets.Dataset.from_dict(records).save_to_disk`` into ``target``, atomically."""
    from datasets import Dataset
    from datasets.utils import logging as ds_logging

    was_enabled = ds_logging.is_progress_bar_enabled()
    if not progress:
        ds_logging.disable_progress_bar()

    target = Path(target)
    try:
        with atomic_dir(target) as tmp:
            Dataset.from_dict(records).save_to_disk(str(tmp))
    finally:
        if was_enabled and not progress:
            ds_logging.enable_progress_bar()
    return target
