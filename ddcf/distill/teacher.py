"""One shard of distillation: prompts for the teacher, sampling rounds, and the acceptance filter.

A question is sampled (``n`` responses per round); with ``--verify_responses`` and a gold answer, the first
response the verifier accepts is kept and the questions without one are sampled again in the next round, up
to ``--max_attempts`` rounds (each round its own per-question seed, so a resumed shard samples what it would
have sampled).  A response cut at ``--max_new_tokens`` is never accepted: a truncated trace teaches the student
to stop mid-thought.  Without a gold (or without ``--verify_responses``) the first response is kept.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from ddcf.evaluate import prompts as EP
from ddcf.generate.questions import question_seed
from ddcf.runs.backends import Backend, SamplingSpec
from ddcf.verify.grade import grade_completions

#: the columns of a distill shard (one row per selected question)
SHARD_COLUMNS = ["question_id", "rank", "response", "response_tokens", "finish_reason", "attempts", "verified",
                 "accepted", "prediction", "status", "tokens_generated", "n_responses"]
KEY_SEP = "\x1f"


def prompt_renderer(tokenizer, chat_template: str, thinking: str) -> Callable[[list[dict]], str]:
    """ddcf evaluate's renderer, plus ``enable_thinking`` for the tokenizer's own template (Qwen3 style).

    A teacher answers in its own template by default (distillation is not part of the released code, so there is
    no reference format to follow; the config turns the earlier name 'auto' into 'model')."""
    render = EP.renderer(tokenizer, chat_template)  # also the error for a tokenizer without a template
    hf_tok = getattr(tokenizer, "tok", None)
    if chat_template == EP.MODEL and thinking != "auto" and hf_tok is not None:
        flag = thinking == "on"
        return lambda messages: hf_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                                           enable_thinking=flag)
    return render


def sampling_spec(config, eos: list[int]) -> SamplingSpec:
    return config.sampling(config.max_new_tokens, config.n, EP.stop_strings(config.chat_template), eos)


def attempt_seed(base: int, question_id: str, attempt: int) -> int:
    """Round 0 uses stage 1's per-question seed; later rounds derive their own."""
    return question_seed(base, question_id if attempt == 0 else f"{question_id}{KEY_SEP}{attempt}")


def distill_shard(backend: Backend, part: pd.DataFrame, config, verifier, attempts: int) -> pd.DataFrame:
    """``part``: question_id, rank, question, gold (None: no gold), answer_type, grading (the verifier's dataset
    name).  Returns one :data:`SHARD_COLUMNS` row per question, in ``part`` order."""
    tok = backend.tokenizer
    render = prompt_renderer(tok, config.chat_template, config.thinking)
    spec = sampling_spec(config, list(tok.eos_token_ids))
    rows = {q.question_id: dict(question_id=q.question_id, rank=int(q.rank), response="", response_tokens=0,
                                finish_reason="", attempts=0, verified=False, accepted=False, prediction="",
                                status="not_generated", tokens_generated=0, n_responses=0)
            for q in part.itertuples(index=False)}
    by_id = {q.question_id: q for q in part.itertuples(index=False)}
    pending = list(rows)
    for attempt in range(attempts):
        if not pending:
            break
        qs = [by_id[q] for q in pending]
        texts = [render([{"role": "user", "content": EP.user_turn(q.question, q.answer_type)}]) for q in qs]
        ids = tok.encode(texts, add_special_tokens=config.chat_template == "plain")
        seeds = None if config.greedy else [attempt_seed(config.seed, q.question_id, attempt) for q in qs]
        outs = backend.generate(ids, spec, seeds)
        if len(outs) != len(ids) or any(len(o) != config.n for o in outs):
            raise RuntimeError(f"backend {backend.name} returned a wrong number of completions")
        for q, out in zip(qs, outs):
            r = rows[q.question_id]
            r["attempts"] = attempt + 1
            r["tokens_generated"] += sum(int(c.n_completion_tokens) for c in out)
            r["n_responses"] += len(out)
        graded = _grade(qs, outs, config, verifier) if config.verify_responses else {}
        still = []
        for q, out in zip(qs, outs):
            r = rows[q.question_id]
            if not config.verify_responses or q.gold is None:
                _keep(r, out[0], status="unverified" if config.verify_responses else "kept")
                continue
            r["verified"] = True
            hit = next((s for s, c in enumerate(out) if graded.get((q.question_id, s), (False,))[0]), None)
            if hit is not None:
                _keep(r, out[hit], status="ok", prediction=graded[(q.question_id, hit)][1], accepted=True)
            else:
                last = graded.get((q.question_id, 0), (False, "", "no_answer"))
                r.update(prediction=last[1], status=f"rejected:{last[2]}", finish_reason=out[0].finish_reason)
                still.append(q.question_id)
        pending = still
    return pd.DataFrame([rows[q] for q in part["question_id"]], columns=SHARD_COLUMNS).astype(
        {"rank": "int64", "response_tokens": "int64", "attempts": "int64", "tokens_generated": "int64",
         "n_responses": "int64", "verified": "bool", "accepted": "bool"})


def _keep(row: dict, completion, status: str, prediction: str = "", accepted: bool = False) -> None:
    row.update(response=completion.text.strip(), response_tokens=int(completion.n_completion_tokens),
               finish_reason=completion.finish_reason, status=status, prediction=prediction, accepted=accepted)


def _grade(qs, outs, config, verifier) -> dict[tuple[str, int], tuple[bool, str, str]]:
    """(question_id, sample) -> (accepted, prediction, status) for the questions with a gold."""
    recs = []
    typed = any(q.answer_type != "math" for q in qs)  # a column the verifier reads per question, when it has one
    for q, out in zip(qs, outs):
        if q.gold is None:
            continue
        for s, c in enumerate(out):
            rec = {"model": config.teacher, "question_id": f"{q.question_id}{KEY_SEP}{s}", "question": q.question,
                   "gold": q.gold, "completion": c.text, "dataset": q.grading}
            if typed:
                rec["answer_type"] = q.answer_type
            recs.append((q.question_id, s, c.finish_reason == "length", rec))
    if not recs:
        return {}
    verdicts = grade_completions(pd.DataFrame([r[3] for r in recs]), verifier=verifier, progress=False,
                                 what=f"teacher responses of {config.teacher}")
    out = {}
    for (qid, s, truncated, _), ok, pred, status in zip(recs, verdicts["correct"], verdicts["prediction"],
                                                       verdicts["status"]):
        pred = "" if pd.isna(pred) else str(pred)
        out[(qid, s)] = (bool(ok) and not truncated, pred, "truncated_response" if truncated else str(status))
    return out
