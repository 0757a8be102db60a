r"""Evaluation prompts: the question in the model's chat template, asking for a boxed answer.

The user turn is the benchmark's problem followed by the instruction of the Qwen2.5-Math / DeepSeek-R1
evaluation ("Please reason step by step, and put your final answer within \boxed{}."); multiple-choice
questions ask for the letter in the box.  ``--chat_template`` picks how the turn is rendered:

* ``auto``: the tokenizer's own template (with the generation prompt); a tokenizer without one is an error
  that names the other choices;
* ``chatml``: the generic ``<|im_start|>`` layout (:func:`ddcf.select.sft_dataset.render_chatml`, the one
  the SFT dataset's ``text`` column uses) plus the opened assistant turn;
* ``plain``: no template, "Problem:\n...\n\nSolution:\n" (base models; generation stops at "Problem:");
* a ``.jinja`` file: rendered like ``apply_chat_template`` with ``add_generation_prompt=True``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Sequence

from ddcf.errors import DDCFError
from ddcf.generate import prompts as GP

PROMPT_FORMAT_VERSION = 1
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CHOICE_INSTRUCTION = ("Please reason step by step, and put the letter of your final choice (A, B, C or D) "
                      "within \\boxed{}.")
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
MODES = ("auto", "chatml", "plain")


def user_turn(problem: str, answer_type: str) -> str:
    return f"{problem.strip()}\n{CHOICE_INSTRUCTION if answer_type == 'choice' else INSTRUCTION}"


def stop_strings(chat_template: str) -> tuple[str, ...]:
    """Chat models stop at EOS; a plain prompt also stops where a base model starts a new problem."""
    return GP.STOP_STRINGS if chat_template == "plain" else ()


def renderer(tokenizer, chat_template: str) -> Callable[[list[dict]], str]:
    """messages -> prompt text ending where the model's answer starts."""
    if chat_template == "auto":
        if not tokenizer.has_chat_template:
            raise DDCFError(
                f"The tokenizer of the model ({getattr(tokenizer, 'name', '') or 'given'}) has no chat template, "
                "so --chat_template auto cannot render the question.",
                "pass --chat_template plain for a base model (a 'Problem: ... Solution:' prompt), --chat_template "
                "chatml for a model fine-tuned on the DDCF selection's ChatML text (ddcf select's default), or "
                "--chat_template FILE.jinja with the template of the model's family.")
        return tokenizer.apply_chat_template
    if chat_template == "chatml":
        from ddcf.select.sft_dataset import render_chatml

        return lambda messages: render_chatml(messages) + "<|im_start|>assistant\n"
    if chat_template == "plain":
        return lambda messages: f"{GP.PROBLEM_HEADER}{messages[-1]['content']}\n\n{GP.SOLUTION_HEADER}"
    return _jinja(Path(chat_template))


def _jinja(path: Path) -> Callable[[list[dict]], str]:
    if not path.is_file():
        raise DDCFError(f"--chat_template {path} is none of {', '.join(MODES)} and no existing file.",
                        "pass auto, chatml, plain or the path of a .jinja chat template.")
    try:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(path.read_text())
        template.render(messages=[{"role": "user", "content": "q"}], add_generation_prompt=True)
    except Exception as exc:  # noqa: BLE001 - any template error becomes one message
        raise DDCFError(f"The chat template {path} could not be rendered: {type(exc).__name__}: {exc}.",
                        "fix the Jinja template (it receives `messages` and `add_generation_prompt`).") from None
    return lambda messages: template.render(messages=messages, add_generation_prompt=True)


def build_prompts(tokenizer, problems: Sequence[str], answer_types: Sequence[str], chat_template: str
                  ) -> tuple[list[list[int]], list[str]]:
    """Token ids and texts of the prompts (templates write their own BOS; a plain prompt gets the tokenizer's)."""
    render = renderer(tokenizer, chat_template)
    texts = [render([{"role": "user", "content": user_turn(p, t)}]) for p, t in zip(problems, answer_types)]
    return tokenizer.encode(texts, add_special_tokens=chat_template == "plain"), texts


def reasoning_open(prompt_text: str, completion: str) -> bool:
    """True when the reasoning was opened (``<think>``, in the completion or at the end of the prompt, as
    R1-style templates do) and never closed."""
    text = prompt_text[-len(THINK_OPEN) - 8:] + completion
    return text.rfind(THINK_OPEN) > text.rfind(THINK_CLOSE)


def followup_base(completion: str, think_open: bool) -> str:
    """The completion the follow-up continues: an open reasoning block is closed first."""
    return completion.rstrip() + f"\n{THINK_CLOSE}\n" if think_open else completion


def fingerprint(chat_template: str) -> str:
    """Hash of what defines the prompts and follow-ups (a resume must match it)."""
    tpl = chat_template
    if chat_template not in MODES and Path(chat_template).is_file():
        tpl = hashlib.sha256(Path(chat_template).read_bytes()).hexdigest()
    payload = {"version": PROMPT_FORMAT_VERSION, "instr": [INSTRUCTION, CHOICE_INSTRUCTION], "template": tpl,
               "followup": [GP.FOLLOWUP_SUFFIX, list(GP.FOLLOWUP_STOP), THINK_CLOSE]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
