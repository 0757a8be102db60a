"""A deterministic fake backend: no model, no GPU, instant.

It exists so the whole stage (prompts, shards, resume, verification, pass
rates, the all-models script) can be exercised without loading an LLM.
Given the same prompt, sampling options, per-prompt seed and sample index it
always writes the same completion:

* greedy: a short "solution" whose boxed answer is the *last number in the
  question* (so test data can choose which questions it gets right);
* sampling: the same answer or that number plus one, 50/50 per sample;
* about one question in four gets no boxed answer, to exercise the runner's
  "The final answer is $\\boxed{" follow-up, which it answers like greedy;
* the body length varies with the question, so small ``max_new_tokens``
  produce ``finish_reason == "length"``.

Model names: an existing folder with a tokenizer (its tokenizer is used), or
any name starting with ``dummy`` (a byte-level tokenizer is used).  Anything
else fails like a missing model would, which is what the all-models script
test relies on.
"""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path
from typing import Sequence

from ddcf.errors import DDCFError
from ddcf.runs.backends import (
    Backend,
    BackendOptions,
    Completion,
    HFTokenizer,
    Prompt,
    SamplingSpec,
    cut_at_stop,
)

_NUM = re.compile(r"-?\d+(?:\.\d+)?")


class ByteTokenizer:
    """UTF-8 bytes as tokens (ids 0..255), EOS = 256.  Enough for the fake backend."""

    eos_token_ids = [256]
    bos_token_id = None
    pad_token_id = 256
    has_chat_template = True
    name = "bytes"
    eos_token = None  # no text form: the reference stop list gets no EOS string

    def encode(self, texts: Sequence[str], add_special_tokens: bool = True) -> list[list[int]]:
        return [list(t.encode("utf-8")) for t in texts]

    def decode(self, ids: Sequence[int]) -> str:
        return bytes(i for i in ids if 0 <= i < 256).decode("utf-8", errors="replace")

    decode_raw = decode

    def apply_chat_template(self, messages: list[dict]) -> str:
        return "".join(f"<{m['role']}>\n{m['content']}\n" for m in messages) + "<assistant>\n"


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


def last_question(prompt_text: str) -> str:
    """The text of the last 'Problem:' block (the question being asked)."""
    block = prompt_text.rsplit("Problem:", 1)[-1]
    return block.split("Solution:", 1)[0].strip()


def dummy_answer(question: str, sample_key: int | None) -> str:
    nums = _NUM.findall(question)
    base = nums[-1] if nums else "0"
    if sample_key is not None and sample_key % 2 == 1:
        try:
            return str(int(float(base)) + 1)
        except ValueError:
            return base + "1"
    return base


class DummyBackend(Backend):
    name = "dummy"

    def __init__(self, model: str, options: BackendOptions):
        super().__init__(model, options)
        self._tok = self.load_tokenizer(model, options)
        self.n_generated_prompts = 0  # tests count regeneration with this

    @classmethod
    def load_tokenizer(cls, model: str, options: BackendOptions):
        if Path(model).is_dir():
            return HFTokenizer.load(model, options.trust_remote_code)
        if model.split("/")[-1].startswith("dummy") or model.startswith("dummy"):
            return ByteTokenizer()
        raise DDCFError(
            f"The dummy backend cannot find the model '{model}'.",
            "pass a name starting with 'dummy' (e.g. dummy/model-a) or an existing model folder.",
        )

    @property
    def tokenizer(self):
        return self._tok

    @property
    def context_limit(self) -> int | None:
        return self.options.context_length or 1 << 20

    def generate(
        self, prompts: Sequence[Prompt], spec: SamplingSpec, seeds: Sequence[int] | None = None
    ) -> list[list[Completion]]:
        out: list[list[Completion]] = []
        for i, ids in enumerate(prompts):
            text = self._tok.decode(ids)
            seed = seeds[i] if seeds is not None else spec.seed
            out.append([self._one(text, len(ids), spec, seed, s) for s in range(spec.n)])
        self.n_generated_prompts += len(prompts)
        return out

    def _one(self, prompt_text: str, n_prompt: int, spec: SamplingSpec, seed, sample: int) -> Completion:
        question = last_question(prompt_text)
        if spec.greedy:
            key = None
        else:
            key = random.Random(_h(question, seed, sample, spec.temperature)).randrange(1 << 30)
        answer = dummy_answer(question, key)
        if prompt_text.rstrip().endswith("\\boxed{"):
            raw = f"{answer}}}$. That is all."  # a follow-up request
        else:
            h = _h(question)
            words = " ".join(f"step{j}" for j in range(4 + h % 40))
            boxed = h % 4 != 0
            tail = f"The final answer is $\\boxed{{{answer}}}$." if boxed else "I am not sure."
            raw = f"We work it out: {words}.\n{tail}\n\nProblem:\nanother question"
        ids = self._tok.encode([raw], add_special_tokens=False)[0]
        finish = "stop"
        if len(ids) > spec.max_new_tokens:
            ids = ids[: spec.max_new_tokens]
            finish = "length"
        text = self._tok.decode(ids)
        cut, hit = cut_at_stop(text, spec.stop)
        if hit:
            finish = "stop"
            n_tokens = len(self._tok.encode([cut], add_special_tokens=False)[0])
        else:
            n_tokens = len(ids)
        return Completion(text=cut, n_prompt_tokens=n_prompt, n_completion_tokens=n_tokens, finish_reason=finish)

    def info(self) -> dict:
        return {"backend": self.name, "tokenizer": getattr(self._tok, "name", "")}
