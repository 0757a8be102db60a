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

import pandas as pd

from ddcf.evaluate import prompts as EP
from ddcf.generate import prompts as GP
from ddcf.generate.backends import Backend, SamplingSpec
from ddcf.generate.completions import followup_context, has_boxed_answer, run_followups
from ddcf.generate.questions import question_seed
from ddcf.generate.shards import SHARD_COLUMNS

REFERENCE = "reference"
EVAL_SHARD_COLUMNS = [*SHARD_COLUMNS, "prompt"]


def sampling(config, n: int, eos: list[int], max_new_tokens: int | None = None) -> SamplingSpec:
    greedy = config.greedy
    return SamplingSpec(max_new_tokens=max_new_tokens or config.new_tokens, n=n, temperature=config.temperature,
                        top_p=1.0 if greedy else config.top_p, top_k=-1 if greedy else config.top_k,
                        stop=EP.stop_strings(config.chat_template, config.schedule), stop_token_ids=tuple(eos),
                        seed=None if greedy else config.seed)


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
                         ) -> dict[tuple[int, int], list]:
    """Steps 2 and 3 of the reference schedule; ``texts`` (key -> completion so far) is updated in place.
    Returns key -> the follow-up completions it got, in order."""
    got: dict[tuple[int, int], list] = {}
    steps = ((lambda t: EP.THINK_CLOSE not in t, EP.THINK_SUFFIX, think_sampling(config, eos), "think"),
             (lambda t: not EP.has_reference_boxed(t), EP.BOXED_SUFFIX, followup_sampling(config, eos), "boxed"))
    for needs, suffix, spec, step in steps:
        keys = [k for k, t in texts.items() if needs(t)]
        if not keys:
            continue
        contexts = [texts[k] + suffix for k in keys]
        outs, _ = run_followups(backend, [ids[i] for i, _ in keys], contexts, spec,
                                seeds=_seeds(config, part, keys, step))
        for k, ctx, out in zip(keys, contexts, outs):
            texts[k] = ctx + out.text
            got.setdefault(k, []).append(out)
    return got


def _single_followups(backend: Backend, config, ids: list, prompt_texts: list[str], texts: dict, eos: list[int]
                      ) -> dict[tuple[int, int], list]:
    contexts: dict[tuple[int, int], str] = {}
    for (i, s), c in texts.items():
        think_open = EP.reasoning_open(prompt_texts[i], c)
        if think_open or not has_boxed_answer(c):
            contexts[(i, s)] = followup_context(EP.followup_base(c, think_open))
    if not contexts:
        return {}
    need = list(contexts)
    outs, _ = run_followups(backend, [ids[i] for i, _ in need], [contexts[k] for k in need],
                            followup_sampling(config, eos))
    for k, out in zip(need, outs):
        texts[k] = contexts[k] + out.text + GP.FOLLOWUP_STOP[0]
    return {k: [out] for k, out in zip(need, outs)}


def generate_eval_shard(backend: Backend, part: pd.DataFrame, config, n: int, grading: dict[str, str]
                        ) -> tuple[pd.DataFrame, dict]:
    """One row per question and sample (:data:`EVAL_SHARD_COLUMNS`; ``dataset`` is the grading style)."""
    tok = backend.tokenizer
    eos = list(tok.eos_token_ids)
    ids, prompt_texts = EP.build_prompts(tok, part["question"].tolist(), part["answer_type"].tolist(),
                                         config.chat_template)
    seeds = None if config.greedy else [question_seed(config.seed, q) for q in part["question_id"]]
    outs = backend.generate(ids, sampling(config, n, eos), seeds)
    if len(outs) != len(ids) or any(len(r) != n for r in outs):
        raise RuntimeError(f"backend {backend.name} returned a wrong number of completions")
    texts = {(i, s): c.text for i, row in enumerate(outs) for s, c in enumerate(row)}
    if config.schedule == REFERENCE:
        fu = _reference_followups(backend, part, config, ids, texts, eos)
    else:
        fu = _single_followups(backend, config, ids, prompt_texts, texts, eos)
    rows = []
    for i, q in enumerate(part.itertuples(index=False)):
        for s, c in enumerate(outs[i]):
            f = fu.get((i, s), [])
            rows.append({
                "question_id": q.question_id, "sample": s, "dataset": grading[q.answer_type],
                "question": q.question, "gold": q.gold, "prompt_tokens": len(ids[i]), "n_shots": 0,
                "prompt_truncated": False, "raw_completion": c.text, "completion": texts[(i, s)],
                "completion_tokens": c.n_completion_tokens, "finish_reason": c.finish_reason,
                "followup": bool(f), "followup_text": "".join(x.text for x in f),
                "followup_tokens": sum(x.n_completion_tokens for x in f), "prompt": prompt_texts[i],
            })
    df = pd.DataFrame(rows, columns=EVAL_SHARD_COLUMNS).astype({
        "sample": "int64", "prompt_tokens": "int64", "n_shots": "int64", "completion_tokens": "int64",
        "followup_tokens": "int64", "prompt_truncated": "bool", "followup": "bool"})
    generated = int(df["completion_tokens"].sum() + df["followup_tokens"].sum())
    return df, {"n_followups": sum(len(f) for f in fu.values()), "generated_tokens": generated}
