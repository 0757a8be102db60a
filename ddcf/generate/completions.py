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

from dataclasses import dataclass, field

import pandas as pd

from ddcf.generate import prompts as P
from ddcf.generate.config import GenerateConfig
from ddcf.generate.questions import question_seed
from ddcf.runs.backends import Backend
from ddcf.runs.shard import SHARD_COLUMNS, Followup
from ddcf.runs.shard import generate_shard as run_generate_shard
from ddcf.verify.extract import has_boxed_answer

__all__ = ["GenerateRecipe", "followup_context", "generate_shard", "has_boxed_answer", "reference_followup_prompts",
           "run_followups"]


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


@dataclass
class GenerateRecipe:
    """Stage 1's :class:`~ddcf.runs.shard.ShardRecipe`: few-shot prompts (reference or ddcf style) and the
    boxed-answer follow-up of that style."""

    config: GenerateConfig
    columns: list = field(default_factory=lambda: list(SHARD_COLUMNS))

    @property
    def n(self) -> int:
        return self.config.n

    def _eos(self, tok) -> tuple[list[int], str | None]:
        return list(tok.eos_token_ids), getattr(tok, "eos_token", None)

    def prompts(self, tok, part: pd.DataFrame) -> list:
        config = self.config
        if config.reference:
            return P.build_reference_prompts(tok, part["question"].tolist(), part["dataset"].tolist(),
                                             config.max_prompt_tokens,
                                             types=part["type"].tolist() if "type" in part.columns else None)
        return P.build_prompts(tok, part["question"].tolist(), part["dataset"].tolist(), config.max_prompt_tokens,
                               chat=config.chat_template)

    def sampling(self, tok):
        return self.config.sampling_spec(*self._eos(tok))

    def seeds(self, part: pd.DataFrame) -> list[int] | None:
        return None if self.config.greedy else [question_seed(self.config.seed, q) for q in part["question_id"]]

    def dataset(self, row) -> str:
        return row.dataset

    def followups(self, backend: Backend, part: pd.DataFrame, built: list, outs: list) -> tuple[dict, int]:
        config = self.config
        fu_spec = config.followup_spec(*self._eos(backend.tokenizer))
        if config.reference:  # released: "\boxed{" anywhere (even unclosed) means no follow-up
            need = [(i, s) for i, row in enumerate(outs) for s, c in enumerate(row) if "\\boxed{" not in c.text]
        else:
            need = [(i, s) for i, row in enumerate(outs) for s, c in enumerate(row) if not has_boxed_answer(c.text)]
        if not need:
            return {}, 0
        if config.reference:  # released: completion + suffix + follow-up, nothing added or stripped
            fu_prompts = reference_followup_prompts(
                backend, [built[i].text + outs[i][s].text + P.REFERENCE_FOLLOWUP_SUFFIX for i, s in need], fu_spec)
            fu_outs = [row[0] for row in backend.generate(fu_prompts, fu_spec)]
            finals = [outs[i][s].text + P.REFERENCE_FOLLOWUP_SUFFIX + f.text for (i, s), f in zip(need, fu_outs)]
            return ({k: Followup(t, [f]) for k, t, f in zip(need, finals, fu_outs)},
                    sum(map(len, fu_prompts)))
        fu_outs, fu_prompt_tokens = run_followups(
            backend, [built[i].ids for i, _ in need], [followup_context(outs[i][s].text) for i, s in need], fu_spec)
        finals = [followup_context(outs[i][s].text) + f.text + P.FOLLOWUP_STOP[0] for (i, s), f in zip(need, fu_outs)]
        return {k: Followup(t, [f]) for k, t, f in zip(need, finals, fu_outs)}, fu_prompt_tokens


def generate_shard(backend: Backend, part: pd.DataFrame, config: GenerateConfig) -> tuple[pd.DataFrame, dict]:
    """Completions (one row per question and sample, :data:`SHARD_COLUMNS`) and the shard's token stats."""
    return run_generate_shard(backend, part, GenerateRecipe(config))
