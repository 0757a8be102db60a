"""Helpers of the SFT tests: a tiny chat model built on the fly and a tiny selection dataset."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)
ROLE_TOKENS = ["<|user|>", "<|assistant|>", "<|end|>"]

QUESTIONS = [
    ("q0", "What is 2 + 3?", "2 + 3 = 5. The final answer is $\\boxed{5}$."),
    ("q1", "Compute 4 times 6.", "4 times 6 is 24. The final answer is $\\boxed{24}$."),
    ("q2", "What is 10 minus 7?", "10 - 7 = 3. The final answer is $\\boxed{3}$."),
    ("q3", "Find x if 2x = 8.", "x = 8 / 2 = 4. The final answer is $\\boxed{4}$."),
]


def _gen_testlib():
    if "gen_testlib" in sys.modules:
        return sys.modules["gen_testlib"]
    path = Path(__file__).resolve().parents[1] / "generate" / "gen_testlib.py"
    spec = importlib.util.spec_from_file_location("gen_testlib", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_testlib"] = module
    spec.loader.exec_module(module)
    return module


def build_chat_lm(out: Path, chat_template: str | None = CHAT_TEMPLATE, max_positions: int = 4096,
                  hidden: int = 32) -> Path:
    """The generation tests' tiny random Llama + BPE tokenizer, with role tokens and a chat template."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    _gen_testlib().build_tiny_lm(out, max_positions=max_positions, hidden=hidden)
    tok = AutoTokenizer.from_pretrained(out)
    tok.add_special_tokens({"additional_special_tokens": ROLE_TOKENS})
    tok.chat_template = chat_template
    model = LlamaForCausalLM.from_pretrained(out)
    model.resize_token_embeddings(len(tok), mean_resizing=False)
    model.config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def save_selection_dataset(target: Path, rows=QUESTIONS) -> Path:
    """A selection dataset/ folder with the columns k_greedy_selection.py writes (ids made unique)."""
    import pandas as pd

    from ddcf.select.sft_dataset import build_records, render_chatml, save_dataset_atomic

    frame = pd.DataFrame([(f"{qid}_{n}", q, r, "demo", n) for n, (qid, q, r) in enumerate(rows)],
                         columns=["question_id", "question", "response", "dataset", "rank"])
    return save_dataset_atomic(build_records(frame, render_chatml), target, progress=False)
