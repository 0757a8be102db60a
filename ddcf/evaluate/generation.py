r"""Completions of one benchmark shard: prompts -> ``n`` samples per question, then the follow-ups of the schedule.

``--schedule reference`` (default), the released evaluation's order:

1. sample up to ``--max_new_tokens`` (12,288) with the main settings and the released stop strings;
2. every completion without ``</think>`` gets :data:`~ddcf.evaluate.prompts.THINK_SUFFIX` ("\n</think>")
   appended and up to ``--think_max_tokens`` (2,048) more tokens *sampled* with the same settings;
3. every completion (as it now stands) without a ``\boxed{...}`` on one line gets
   :data:`~ddcf.evaluate.prompts.BOXED_SUFFIX` ("\nThe final answer is \boxed{") appended and
   ``--followup_max_tokens`` (32) sampled, again with the same settings.

The final completion is the first text, each appended suffix and each follow-up's text, concatenated as they are
(nothing stripped, nothing added).

``--schedule single`` (ddcf's earlier one): a completion that never closes its reasoning (``<think>`` without
``</think>``) or never gives a boxed answer gets one short greedy follow-up after "The final answer is
$\boxed{" (its reasoning closed first).

Follow-ups go through :func:`ddcf.generate.completions.run_followups`, the code path stage 1 uses.  Rows have
the shard columns of :mod:`ddcf.generate.shards` plus ``prompt``, the exact prompt string of the sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ddcf.evaluate import prompts as EP
from ddcf.generate import prompts as GP
from ddcf.generate.completions import followup_context, has_boxed_answer, run_followups
from ddcf.generate.questions import question_seed
from ddcf.runs.backends import Backend, SamplingSpec
from ddcf.runs.shard import SHARD_COLUMNS, Followup, generate_shard

REFERENCE = "reference"
EVAL_SHARD_COLUMNS = [*SHARD_COLUMNS, "prompt"]


def sampling(config, n: int, eos: list[int], max_new_tokens: int | None = None) -> SamplingSpec:
    return config.sampling(max_new_tokens or config.new_tokens, n, EP.stop_strings(config.chat_template,
                                                                                    config.schedule), eos)


def followup_sampling(config, eos: list[int]) -> SamplingSpec:
    """The last follow-up's settings: the main sampling (reference) or greedy up to "}$" (single)."""
    if config.schedule == REFERENCE:
        return sampling(config, 1, eos, config.followup_max_tokens)
    return SamplingSpec(max_new_tokens=config.followup_max_tokens, n=1, temperature=0.0, stop=GP.FOLLOWUP_STOP,
                        stop_token_ids=tuple(eos))


def think_sampling(config, eos: list[int]) -> SamplingSpec:
    """The reference schedule's continuation after the appended "</think>"."""
    return sampling(config, 1, eos, config.think_max_tokens)


def _seeds(config, part: pd.DataFrame, keys: list[tuple[int, int]], step: str) -> list[int] | None:
    """One seed per follow-up request (question, sample, step): a resumed shard samples what it would have."""
    if config.greedy:
        return None
    ids = part["question_id"].tolist()
    return [question_seed(config.seed, f"{ids[i]}#{s}#{step}") for i, s in keys]


def _reference_followups(backend: Backend, part: pd.DataFrame, config, ids: list, texts: dict, eos: list[int]
                         ) -> tuple[dict[tuple[int, int], list], int]:
    """Steps 2 and 3 of the reference schedule; ``texts`` (key -> completion so far) is updated in place.
    Returns key -> the follow-up completions it got, in order, and the prompt tokens sent."""
    got: dict[tuple[int, int], list] = {}
    sent = 0
    steps = ((lambda t: EP.THINK_CLOSE not in t, EP.THINK_SUFFIX, think_sampling(config, eos), "think"),
             (lambda t: not EP.has_reference_boxed(t), EP.BOXED_SUFFIX, followup_sampling(config, eos), "boxed"))
    for needs, suffix, spec, step in steps:
        keys = [k for k, t in texts.items() if needs(t)]
        if not keys:
            continue
        contexts = [texts[k] + suffix for k in keys]
        outs, n_sent = run_followups(backend, [ids[i] for i, _ in keys], contexts, spec,
                                     seeds=_seeds(config, part, keys, step))
        sent += n_sent
        for k, ctx, out in zip(keys, contexts, outs):
            texts[k] = ctx + out.text
            got.setdefault(k, []).append(out)
    return got, sent


def _single_followups(backend: Backend, config, ids: list, prompt_texts: list[str], texts: dict, eos: list[int]
                      ) -> tuple[dict[tuple[int, int], list], int]:
    contexts: dict[tuple[int, int], str] = {}
    for (i, s), c in texts.items():
        think_open = EP.reasoning_open(prompt_texts[i], c)
        if think_open or not has_boxed_answer(c):
            contexts[(i, s)] = followup_context(EP.followup_base(c, think_open))
    if not contexts:
        return {}, 0
    need = list(contexts)
    outs, sent = run_followups(backend, [ids[i] for i, _ in need], [contexts[k] for k in need],
                               followup_sampling(config, eos))
    for k, out in zip(need, outs):
        texts[k] = contexts[k] + out.text + GP.FOLLOWUP_STOP[0]
    return {k: [out] for k, out in zip(need, outs)}, sent


@dataclass
class EvalRecipe:
    """The evaluation's :class:`~ddcf.runs.shard.ShardRecipe`: the benchmark prompt format (``--chat_template``)
    and the follow-ups of ``--schedule``; ``grading``: answer type -> the verifier's dataset name."""

    config: Any
    n: int
    grading: dict
    columns: list = field(default_factory=lambda: list(EVAL_SHARD_COLUMNS))

    def prompts(self, tok, part: pd.DataFrame) -> list:
        ids, texts = EP.build_prompts(tok, part["question"].tolist(), part["answer_type"].tolist(),
                                      self.config.chat_template)
        return [GP.BuiltPrompt(i, 0, False, t) for i, t in zip(ids, texts)]

    def sampling(self, tok) -> SamplingSpec:
        return sampling(self.config, self.n, list(tok.eos_token_ids))

    def seeds(self, part: pd.DataFrame) -> list[int] | None:
        return None if self.config.greedy else [question_seed(self.config.seed, q) for q in part["question_id"]]

    def dataset(self, row) -> str:
        return self.grading[row.answer_type]

    def followups(self, backend: Backend, part: pd.DataFrame, built: list, outs: list) -> tuple[dict, int]:
        eos = list(backend.tokenizer.eos_token_ids)
        ids = [b.ids for b in built]
        texts = {(i, s): c.text for i, row in enumerate(outs) for s, c in enumerate(row)}
        if self.config.schedule == REFERENCE:
            fu, sent = _reference_followups(backend, part, self.config, ids, texts, eos)
        else:
            fu, sent = _single_followups(backend, self.config, ids, [b.text for b in built], texts, eos)
        return {k: Followup(texts[k], parts) for k, parts in fu.items()}, sent


def generate_eval_shard(backend: Backend, part: pd.DataFrame, config, n: int, grading: dict[str, str]
                        ) -> tuple[pd.DataFrame, dict]:
    """One row per question and sample (:data:`EVAL_SHARD_COLUMNS`; ``dataset`` is the grading style)."""
    return generate_shard(backend, part, EvalRecipe(config, n, grading))
