"""The evaluation prompt and generation schedule against values of the released code.

``data/reference_eval.json`` was produced by running the released DDCF code (github.com/iNLP-Lab/DDCF, commit
434f9d5) outside this project, with the project's .venv python:

* ``eval_prompts``: ``eval/evaluate.py`` ``prepare_template`` on the first problem of each task as its own
  ``load_eval_data`` reads them;
* ``schedule``: ``eval/evaluate.py`` ``run_inference(prompts, model_path="M", dp_size=1, seed=42)`` on the
  prompts of ``schedule.questions``, with ``sglang`` replaced by a fake ``Engine`` that records its constructor
  arguments and every ``generate`` call (prompts and params) and answers by ``fake_outputs`` (by the prompt's
  ``[qN]`` tag and by what the prompt ends with); ``calls`` are those records, ``final`` the returned completions.
  The modules ``swifter`` and ``eval/parser.py`` were stubbed (imported by the file, unused by these functions).

The same fake answers our backend here, so the sequences of calls can be compared one to one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from eval_testlib import eval_config

from ddcf.evaluate import benchmarks as B
from ddcf.evaluate import prompts as EP
from ddcf.evaluate.generation import generate_eval_shard
from ddcf.evaluate.scoring import GRADING
from ddcf.runs.backends import Backend, Completion
from ddcf.runs.backends.dummy import ByteTokenizer

REF = json.loads((Path(__file__).parent / "data" / "reference_eval.json").read_text())


def test_eval_prompts_equal_the_released_ones_byte_for_byte():
    tok = ByteTokenizer()
    for case in REF["eval_prompts"]:
        q = B.load(B.BY_NAME[case["task"]], limit=1).iloc[0]  # the same problem text as the released data
        ids, texts = EP.build_prompts(tok, [q.question], [q.answer_type], "reference")
        assert texts[0] == case["prompt"], case["task"]
        assert tok.decode(ids[0]) == case["prompt"]
    # multiple choice gets no extra instruction: the problem already asks for one letter (sat, stem)
    assert any(c["task"] == "stem" and "(A, B, C, D only)" in c["prompt"] for c in REF["eval_prompts"])


class RecordingBackend(Backend):
    """Answers like the fake engine the reference values were made with, and records every call."""

    name = "recording"

    def __init__(self):
        self.tok = ByteTokenizer()
        self.calls = []

    @property
    def tokenizer(self):
        return self.tok

    def generate(self, prompts, spec, seeds=None):
        texts = [self.tok.decode(p) for p in prompts]
        self.calls.append({"prompts": texts, "spec": spec, "seeds": seeds})
        fake = REF["fake_outputs"]
        out = []
        for t in texts:
            tag = re.search(r"\[(q\d)\]", t).group(1)
            kind = "boxed" if t.endswith(EP.BOXED_SUFFIX) else "think" if t.endswith(EP.THINK_SUFFIX) else "main"
            out.append([Completion(fake[kind][tag], len(t), 5, "stop") for _ in range(spec.n)])
        return out


def _run(tmp_path, **kw):
    qs = REF["schedule"]["questions"]
    part = pd.DataFrame({"question_id": [f"q{i}" for i in range(len(qs))], "question": qs,
                         "gold": ["0"] * len(qs), "answer_type": ["math"] * len(qs)})
    be = RecordingBackend()
    df, stats = generate_eval_shard(be, part, eval_config(tmp_path, **kw), 1, GRADING)
    return be, df, stats


def test_followup_schedule_makes_the_released_calls(tmp_path):
    be, df, stats = _run(tmp_path)
    ref_calls = [c for c in REF["schedule"]["calls"] if "prompts" in c]
    assert len(be.calls) == len(ref_calls) == 3  # first generation, "</think>" continuation, boxed follow-up
    for ours, ref in zip(be.calls, ref_calls):
        params, spec = ref["params"], ours["spec"]
        assert ours["prompts"] == ref["prompts"]  # the exact strings, in the same order
        assert spec.max_new_tokens == params["max_new_tokens"]  # 12288, 2048, 32
        assert (spec.temperature, spec.top_p, spec.top_k, 0) == (params["temperature"], params["top_p"],
                                                                  params["top_k"], params["min_p"])
        assert list(spec.stop) == params["stop"] and spec.n == 1
    assert [c["spec"].max_new_tokens for c in be.calls] == [12288, 2048, 32]
    assert all(c["seeds"] is not None for c in be.calls)  # sampled follow-ups, seeded per question and step
    # the final completions are assembled exactly as the released code assembles them
    assert df["completion"].tolist() == REF["schedule"]["final"]
    assert df["prompt"].tolist() == ref_calls[0]["prompts"]  # each sample records its prompt string
    assert df["followup"].tolist() == [False, True, True, True, True]
    assert stats["n_followups"] == 5  # q1, q2 continued after </think>; q2, q3, q4 boxed follow-ups
    # the released engine ran in a 16,384-token context: 12,288 new tokens leave room for the prompt
    assert REF["schedule"]["calls"][0]["engine"]["context_length"] == 16384


def test_single_schedule_is_kept_as_an_option(tmp_path):
    be, df, _ = _run(tmp_path, schedule="single", chat_template="model")
    assert [c["spec"].max_new_tokens for c in be.calls] == [16384, 32]
    assert be.calls[1]["spec"].temperature == 0.0 and be.calls[1]["spec"].stop == ("}$",)
    # only the open reasoning (q1, q2) and the answers without a complete box (q3) get the one follow-up
    assert [p[-len("$\\boxed{"):] for p in be.calls[1]["prompts"]] == ["$\\boxed{"] * 3
    assert df["followup"].tolist() == [False, True, True, True, False]


@pytest.mark.parametrize("text,boxed", [("\\boxed{2}", True), ("$\\boxed{x+1}$ and", True),
                                        ("\\boxed{\nx}", False), ("boxed{2}", False), ("\\boxed{", False)])
def test_boxed_test_of_the_released_code(text, boxed):
    assert EP.has_reference_boxed(text) is boxed
