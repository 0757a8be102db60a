r"""The prompt format of the DDCF paper's released code, shared by selection, SFT and evaluation.

Every example, for every target model, is one ChatML conversation with a fixed system turn; the question is
the user turn, verbatim (no stripping, no instruction added), and the assistant turn is left open::

    <|im_start|>system
    Please reason step by step, and put your final answer within \boxed{}.<|im_end|>
    <|im_start|>user
    {question}<|im_end|>
    <|im_start|>assistant
    {response}

The SFT text is that prompt followed directly by the response: no ``<|im_end|>`` after it.  The trainer adds
the tokenizer's EOS token at the end (TRL appends EOS to a text that does not already end with it), so a model
fine-tuned this way ends its answers with EOS, not with an end-of-turn marker.  Completion-only loss masks
everything up to and including :data:`ASSISTANT_START` (the released code's response template).

Multiple-choice benchmarks get the same prompt: their problem text already lists the options and asks for a
single letter, and the system turn asks for it in a box.

The name of this format in the ``--chat_template`` options is :data:`REFERENCE`; ``model`` is the target's own
chat template instead.  Imports nothing.
"""

from __future__ import annotations

REFERENCE = "reference"  # --chat_template value of this format (select, sft, evaluate)
MODEL = "model"  # --chat_template value of the target tokenizer's own chat template (sft, evaluate)

SYSTEM_PROMPT = "Please reason step by step, and put your final answer within \\boxed{}."
ASSISTANT_START = "<|im_start|>assistant\n"


def reference_prompt(question: str) -> str:
    """The question as the released code prompts it: system turn, user turn, open assistant turn."""
    return (f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n"
            f"<|im_start|>user\n{question}<|im_end|>\n{ASSISTANT_START}")


def reference_text(question: str, response: str) -> str:
    """The SFT text of one example (the selection dataset's ``text`` column): prompt + response, no end marker."""
    return reference_prompt(question) + response


def render_reference(messages: list) -> str:
    """``messages`` (a user turn, optionally an assistant turn) in the reference format; a conversation without
    an assistant turn renders as the prompt alone (ready for generation)."""
    users = [m["content"] for m in messages if m.get("role") == "user"]
    answers = [m["content"] for m in messages if m.get("role") == "assistant"]
    return reference_text(users[0] if users else "", answers[-1] if answers else "")
