r"""Evaluation prompts, and the strings of the follow-up generations.

``--chat_template`` picks the prompt format:

* ``reference`` (default): the released DDCF code's (:mod:`ddcf.chat_format`): ChatML with the system turn
  "Please reason step by step, and put your final answer within oxed{}." and the benchmark's problem,
  verbatim, as the user turn - for every benchmark, multiple-choice ones included (their problem text lists the
  options and asks for one letter); the prompt string is tokenized with the tokenizer's special tokens, as an
  engine given the string does;
* ``model``: the tokenizer's own chat template (with the generation prompt); the user turn is the problem
  followed by the Qwen2.5-Math / DeepSeek-R1 instruction (the same sentence), multiple-choice questions asking
  for the letter in the box; a tokenizer without a template is an error that names the other choices;
* ``chatml``: that user turn in the generic ``<|im_start|>`` layout (:func:`ddcf.select.sft_dataset.render_chatml`)
  plus the opened assistant turn, no system turn;
* ``plain``: no template, "Problem:
...

Solution:
" (base models; generation stops at "Problem:");
* a ``.jinja`` file: that user turn rendered like ``apply_chat_template`` with ``add_generation_prompt=True``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Callable, Sequence

from ddcf.chat_format import MODEL, REFERENCE, reference_prompt
from ddcf.errors import DDCFError
from ddcf.generate import prompts as GP

PROMPT_FORMAT_VERSION = 2
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CHOICE_INSTRUCTION = ("Please reason step by step, and put the letter of your final choice (A, B, C or D) "
                      "within \\boxed{}.")
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
MODES = (REFERENCE, MODEL, "chatml", "plain")
#: stop strings of the released evaluation (its second one spells DeepSeek's end token with ASCII bars, kept as is)
REFERENCE_STOP = ("<|im_end|>", "<|end\u2581of\u2581sentence|>")
#: what the reference schedule appends to a completion without "</think>" / without a boxed answer
THINK_SUFFIX = "\n</think>"
BOXED_SUFFIX = "\nThe final answer is \\boxed{"
_BOXED_ON_ONE_LINE = re.compile(r"\\boxed\{.*?\}")


def user_turn(problem: str, answer_type: str) -> str:
    return f"{problem.strip()}\n{CHOICE_INSTRUCTION if answer_type == 'choice' else INSTRUCTION}"


def stop_strings(chat_template: str, schedule: str = "single") -> tuple[str, ...]:
    """The reference schedule stops at the released evaluation's strings; otherwise chat models stop at EOS. A
    plain prompt also stops where a base model starts a new problem."""
    base = REFERENCE_STOP if schedule == REFERENCE else ()
    return base + (GP.STOP_STRINGS if chat_template == "plain" else ())


def renderer(tokenizer, chat_template: str) -> Callable[[list[dict]], str]:
    """messages -> prompt text ending where the model's answer starts."""
    if chat_template == REFERENCE:
        return lambda messages: reference_prompt(messages[-1]["content"])
    if chat_template == MODEL:
        if not tokenizer.has_chat_template:
            raise DDCFError(
                f"The tokenizer of the model ({getattr(tokenizer, 'name', '') or 'given'}) has no chat template, "
                "so --chat_template model cannot render the question.",
                "pass --chat_template reference (the released code's prompt, the default and the format ddcf sft "
                "trains on), plain for a base model (a 'Problem: ... Solution:' prompt), chatml, or "
                "FILE.jinja with the template of the model's family.")
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
                        f"pass {', '.join(MODES)} or the path of a .jinja chat template.")
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
    """Token ids and texts of the prompts.  Chat templates write their own BOS; a plain or reference prompt is
    encoded with the tokenizer's special tokens (the released evaluation hands the string to the engine, which
    encodes it so)."""
    render = renderer(tokenizer, chat_template)
    if chat_template == REFERENCE:  # the problem verbatim: no instruction added, no stripping
        texts = [render([{"role": "user", "content": p}]) for p in problems]
    else:
        texts = [render([{"role": "user", "content": user_turn(p, t)}]) for p, t in zip(problems, answer_types)]
    return tokenizer.encode(texts, add_special_tokens=chat_template in ("plain", REFERENCE)), texts


def reasoning_open(prompt_text: str, completion: str) -> bool:
    """True when the reasoning was opened (``<think>``, in the completion or at the end of the prompt, as
    R1-style templates do) and never closed."""
    text = prompt_text[-len(THINK_OPEN) - 8:] + completion
    return text.rfind(THINK_OPEN) > text.rfind(THINK_CLOSE)


def followup_base(completion: str, think_open: bool) -> str:
    """The completion the follow-up continues: an open reasoning block is closed first."""
    return completion.rstrip() + f"\n{THINK_CLOSE}\n" if think_open else completion


def has_reference_boxed(text: str) -> bool:
    r"""The released evaluation's test for a boxed answer: ``\boxed{`` and a later ``}`` on the same line."""
    return _BOXED_ON_ONE_LINE.search(text) is not None


def fingerprint(chat_template: str, schedule: str = "single") -> str:
    """Hash of what defines the prompts and follow-ups (a resume must match it)."""
    tpl = chat_template
    if chat_template not in MODES and Path(chat_template).is_file():
        tpl = hashlib.sha256(Path(chat_template).read_bytes()).hexdigest()
    payload = {"version": PROMPT_FORMAT_VERSION, "instr": [INSTRUCTION, CHOICE_INSTRUCTION], "template": tpl,
               "followup": [GP.FOLLOWUP_SUFFIX, list(GP.FOLLOWUP_STOP), THINK_CLOSE]}
    if chat_template == REFERENCE:
        payload["reference_prompt"] = reference_prompt("{question}")
    if schedule == REFERENCE:
        payload["schedule"] = [THINK_SUFFIX, BOXED_SUFFIX, list(REFERENCE_STOP)]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
