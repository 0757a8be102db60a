r"""Completions of one benchmark shard: prompts -> ``n`` samples per question, with the stage-1 follow-up.

A completion that never closes its reasoning (``<think>`` without ``</think>``) or never gives a boxed answer
gets one short greedy follow-up after "The final answer is $\boxed{" (its reasoning closed first), through
:func:`ddcf.generate.completions.run_followups`, the code path stage 1 uses.  Rows have the shard columns of
:mod:`ddcf.generate.shards`, so the same shard store checkpoints them.
"""

from __future__ import annotations

import pandas as pd

from ddcf.evaluate import prompts as EP
from ddcf.generate import prompts as GP
from ddcf.generate.backends import Backend, SamplingSpec
from ddcf.generate.completions import followup_context, has_boxed_answer, run_followups
from ddcf.generate.questions import question_seed
from ddcf.generate.shards import SHARD_COLUMNS


def sampling(config, n: int, eos: list[int]) -> SamplingSpec:
    greedy = config.greedy
    return SamplingSpec(max_new_tokens=config.max_new_tokens, n=n, temperature=config.temperature,
                        top_p=1.0 if greedy else config.top_p, top_k=-1 if greedy else config.top_k,
                        stop=EP.stop_strings(config.chat_template), stop_token_ids=tuple(eos),
                        seed=None if greedy else config.seed)


def followup_sampling(config, eos: list[int]) -> SamplingSpec:
    return SamplingSpec(max_new_tokens=config.followup_max_tokens, n=1, temperature=0.0, stop=GP.FOLLOWUP_STOP,
                        stop_token_ids=tuple(eos))


def generate_eval_shard(backend: Backend, part: pd.DataFrame, config, n: int, grading: dict[str, str]
                        ) -> tuple[pd.DataFrame, dict]:
    """One row per question and sample (:data:`SHARD_COLUMNS`; ``dataset`` is the grading style)."""
    tok = backend.tokenizer
    eos = list(tok.eos_token_ids)
    ids, texts = EP.build_prompts(tok, part["question"].tolist(), part["answer_type"].tolist(),
                                  config.chat_template)
    seeds = None if config.greedy else [question_seed(config.seed, q) for q in part["question_id"]]
    outs = backend.generate(ids, sampling(config, n, eos), seeds)
    if len(outs) != len(ids) or any(len(r) != n for r in outs):
        raise RuntimeError(f"backend {backend.name} returned a wrong number of completions")
    contexts: dict[tuple[int, int], str] = {}
    for i, row in enumerate(outs):
        for s, c in enumerate(row):
            think_open = EP.reasoning_open(texts[i], c.text)
            if think_open or not has_boxed_answer(c.text):
                contexts[(i, s)] = followup_context(EP.followup_base(c.text, think_open))
    need = list(contexts)
    fu = {}
    if need:
        fu_outs, _ = run_followups(backend, [ids[i] for i, _ in need], [contexts[key] for key in need],
                                   followup_sampling(config, eos))
        fu = dict(zip(need, fu_outs))
    rows = []
    for i, q in enumerate(part.itertuples(index=False)):
        for s, c in enumerate(outs[i]):
            f = fu.get((i, s))
            rows.append({
                "question_id": q.question_id, "sample": s, "dataset": grading[q.answer_type],
                "question": q.question, "gold": q.gold, "prompt_tokens": len(ids[i]), "n_shots": 0,
                "prompt_truncated": False, "raw_completion": c.text,
                "completion": c.text if f is None else contexts[(i, s)] + f.text + GP.FOLLOWUP_STOP[0],
                "completion_tokens": c.n_completion_tokens, "finish_reason": c.finish_reason,
                "followup": f is not None, "followup_text": f.text if f else "",
                "followup_tokens": f.n_completion_tokens if f else 0,
            })
    df = pd.DataFrame(rows, columns=SHARD_COLUMNS).astype({
        "sample": "int64", "prompt_tokens": "int64", "n_shots": "int64", "completion_tokens": "int64",
        "followup_tokens": "int64", "prompt_truncated": "bool", "followup": "bool"})
    generated = int(df["completion_tokens"].sum() + df["followup_tokens"].sum())
    return df, {"n_followups": len(need), "generated_tokens": generated}
