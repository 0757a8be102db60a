r"""One shard of generation: prompts -> ``n`` completions per question, with boxed-answer follow-ups.

Reference style (the released ``infer.py``): a completion that does not contain ``\boxed{`` gets a short
greedy follow-up; its prompt is the prompt text + the raw completion + " The final answer is $\boxed{"
(encoded again as one text, as the engine does), it stops at the main stop strings, and the stored
completion is exactly that completion + suffix + follow-up text.

ddcf style: a completion without a *complete* ``\boxed{...}`` gets a follow-up after
"\nThe final answer is $\boxed{" (stopping at "}$", which is appended back), the prompt ids and the
context's ids concatenated (:func:`run_followups`, shared with the evaluation stage).
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from ddcf.generate import prompts as P
from ddcf.generate.backends import Backend
from ddcf.generate.config import GenerateConfig
from ddcf.generate.questions import question_seed
from ddcf.generate.shards import SHARD_COLUMNS
from ddcf.verify.extract import has_boxed_answer

__all__ = ["followup_context", "generate_shard", "has_boxed_answer", "reference_followup_prompts", "run_followups"]


def followup_context(completion: str) -> str:
    """Text appended after the prompt for the follow-up request (and kept in the final completion)."""
    body = completion.rstrip()
    return (body + "\n" if body else "") + P.FOLLOWUP_SUFFIX


def run_followups(backend: Backend, prompts: list, contexts: list[str], spec, seeds: list[int] | None = None
                  ) -> tuple[list, int]:
    """One short generation per (prompt ids, context text): the context (the completion so far plus
    :data:`ddcf.generate.prompts.FOLLOWUP_SUFFIX`) is appended to the prompt, left-truncated to fit the model.
    Returns the completions and the prompt tokens sent.  The evaluation stage uses it too (one code path), with
    its own suffixes and, for sampled follow-ups, one ``seeds`` entry per request."""
    tok = backend.tokenizer
    conts = tok.encode(contexts, add_special_tokens=False)
    limit = backend.context_limit
    bos = getattr(tok, "bos_token_id", None)
    fu_prompts = []
    for prompt, cont in zip(prompts, conts):
        ids = list(prompt) + list(cont)
        if limit and len(ids) > limit - spec.max_new_tokens:
            ids = P.left_truncate(ids, max(limit - spec.max_new_tokens, 1), bos)
        fu_prompts.append(ids)
    outs = backend.generate(fu_prompts, spec) if seeds is None else backend.generate(fu_prompts, spec, seeds)
    return [row[0] for row in outs], sum(len(p) for p in fu_prompts)


def reference_followup_prompts(backend: Backend, texts: list[str], spec) -> list[list[int]]:
    """Released follow-up requests: each text (prompt text + completion + suffix) encoded as the engine encodes
    a text prompt.  Only past the context window (not in the released runs: 1,024 + 2,700 + 30 < 4,096) is one
    left-truncated, keeping a BOS, where the released SGLang run would have refused the request."""
    tok = backend.tokenizer
    limit = backend.context_limit
    bos = getattr(tok, "bos_token_id", None)
    out = []
    for ids in tok.encode(texts, add_special_tokens=True):
        if limit and len(ids) > limit - spec.max_new_tokens:
            ids = P.left_truncate(list(ids), max(limit - spec.max_new_tokens, 1), bos)
        out.append(list(ids))
    return out


def generate_shard(backend: Backend, part: pd.DataFrame, config: GenerateConfig) -> tuple[pd.DataFrame, dict]:
    """Completions (one row per question and sample, :data:`SHARD_COLUMNS`) and the shard's token stats."""
    tok = backend.tokenizer
    eos = list(tok.eos_token_ids)
    eos_token = getattr(tok, "eos_token", None)
    spec = config.sampling_spec(eos, eos_token)
    fu_spec = config.followup_spec(eos, eos_token)
    if config.reference:
        built = P.build_reference_prompts(tok, part["question"].tolist(), part["dataset"].tolist(),
                                          config.max_prompt_tokens,
                                          types=part["type"].tolist() if "type" in part.columns else None)
    else:
        built = P.build_prompts(tok, part["question"].tolist(), part["dataset"].tolist(), config.max_prompt_tokens,
                                chat=config.chat_template)
    seeds = None if config.greedy else [question_seed(config.seed, q) for q in part["question_id"]]
    t0 = time.perf_counter()
    outs = backend.generate([b.ids for b in built], spec, seeds)
    if len(outs) != len(built) or any(len(r) != config.n for r in outs):
        raise RuntimeError(f"backend {backend.name} returned a wrong number of completions")

    if config.reference:  # released: "\boxed{" anywhere (even unclosed) means no follow-up
        need = [(i, s) for i, row in enumerate(outs) for s, c in enumerate(row) if "\\boxed{" not in c.text]
    else:
        need = [(i, s) for i, row in enumerate(outs) for s, c in enumerate(row) if not has_boxed_answer(c.text)]
    fu_texts: dict[tuple[int, int], Any] = {}
    prompt_tokens = sum(len(b.ids) for b in built) * config.n
    if need and config.reference:
        fu_prompts = reference_followup_prompts(
            backend, [built[i].text + outs[i][s].text + P.REFERENCE_FOLLOWUP_SUFFIX for i, s in need], fu_spec)
        fu_outs = [row[0] for row in backend.generate(fu_prompts, fu_spec)]
        prompt_tokens += sum(map(len, fu_prompts))
        fu_texts = dict(zip(need, fu_outs))
    elif need:
        fu_outs, fu_prompt_tokens = run_followups(
            backend, [built[i].ids for i, _ in need], [followup_context(outs[i][s].text) for i, s in need], fu_spec)
        prompt_tokens += fu_prompt_tokens
        fu_texts = dict(zip(need, fu_outs))
    wall = time.perf_counter() - t0

    rows = []
    generated = 0
    for i, (q, b) in enumerate(zip(part.itertuples(index=False), built)):
        for s, c in enumerate(outs[i]):
            fu = fu_texts.get((i, s))
            if fu is None:
                final = c.text
            elif config.reference:  # released: completion + suffix + follow-up, nothing added or stripped
                final = c.text + P.REFERENCE_FOLLOWUP_SUFFIX + fu.text
            else:
                final = followup_context(c.text) + fu.text + P.FOLLOWUP_STOP[0]
            generated += c.n_completion_tokens + (fu.n_completion_tokens if fu else 0)
            rows.append({
                "question_id": q.question_id, "sample": s, "dataset": q.dataset, "question": q.question,
                "gold": q.gold, "prompt_tokens": len(b.ids), "n_shots": b.n_shots, "prompt_truncated": b.truncated,
                "raw_completion": c.text, "completion": final, "completion_tokens": c.n_completion_tokens,
                "finish_reason": c.finish_reason, "followup": fu is not None,
                "followup_text": fu.text if fu else "", "followup_tokens": fu.n_completion_tokens if fu else 0,
            })
    df = pd.DataFrame(rows, columns=SHARD_COLUMNS)
    df = df.astype({"sample": "int64", "prompt_tokens": "int64", "n_shots": "int64", "completion_tokens": "int64",
                    "followup_tokens": "int64", "prompt_truncated": "bool", "followup": "bool"})
    stats = {"wall_s": wall, "prompt_tokens": int(prompt_tokens), "generated_tokens": int(generated),
             "n_followups": len(need)}
    return df, stats
