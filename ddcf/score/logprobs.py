"""Token log-probabilities of a response given its prompt, through the generation backends' model loaders.

A sequence is ``prompt ids + response ids`` (the prompt encoded with the tokenizer's special tokens, e.g. BOS;
the response without); the score of response token ``t`` is ``log p(x_t | x_<t)``.

* hf: :class:`ddcf.runs.backends.hf.HFBackend` loads model and tokenizer (device, dtype, errors as for
  generation); the forward passes are here (right padding, so positions are those of the unpadded sequence).
* vllm: ``LLM.generate`` with ``SamplingParams(max_tokens=1, prompt_logprobs=0)``: vLLM returns, for every
  prompt position after the first, a dict holding the prompt token's log-probability
  (:func:`vllm_request`, :func:`parse_prompt_logprobs`; the engine is built by
  :class:`ddcf.runs.backends.vllm.VLLMBackend`, imported lazily).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ddcf.errors import DDCFError


@dataclass
class Sequence_:
    ids: list[int]
    n_prompt: int
    truncated: bool


#: why a question cannot be scored (:func:`build_sequences` returns one of these instead of a sequence)
NO_RESPONSE_TOKEN = "its response encodes to no token"


def build_sequences(tok, prompts: Sequence[str], responses: Sequence[str],
                    max_length: int | None) -> list[Sequence_ | str]:
    """Token ids of every (prompt, response); a response is cut at the end to fit ``max_length``.

    A pair that cannot be scored (an empty response, or a prompt that leaves no room for one token of it) gives
    the reason as a string in its place, so one such question never aborts the others.
    """
    p_ids = tok.encode(list(prompts), add_special_tokens=True)
    r_ids = tok.encode(list(responses), add_special_tokens=False)
    out: list[Sequence_ | str] = []
    for p, r in zip(p_ids, r_ids):
        if not r:
            out.append(NO_RESPONSE_TOKEN)
            continue
        cut = len(p) + len(r) > max_length if max_length else False
        if cut:
            if len(p) >= max_length:
                out.append(f"its prompt of {len(p)} tokens leaves no room for the response in {max_length} tokens")
                continue
            r = r[: max_length - len(p)]
        out.append(Sequence_(list(p) + list(r), len(p), cut))
    return out


def hf_logprobs(lm, seqs: Sequence[Sequence_], batch_size: int, pad_id: int, device: str,
                on_batch: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Log-probabilities of the response tokens of every sequence (float64), batched by length; ``on_batch(n)``
    after each forward pass (progress inside a shard: a CPU shard takes minutes)."""
    import torch

    out: list[np.ndarray | None] = [None] * len(seqs)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i].ids))
    with torch.no_grad():
        for s in range(0, len(order), batch_size):
            batch = order[s:s + batch_size]
            width = max(len(seqs[i].ids) for i in batch)
            ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, i in enumerate(batch):
                ids[r, : len(seqs[i].ids)] = torch.tensor(seqs[i].ids)
                mask[r, : len(seqs[i].ids)] = 1
            logits = lm(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1)
            tok = torch.gather(logp, 2, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1).double().cpu().numpy()
            for r, i in enumerate(batch):
                sq = seqs[i]
                out[i] = tok[r, sq.n_prompt - 1: len(sq.ids) - 1]
            if on_batch is not None:
                on_batch(len(batch))
    return out  # type: ignore[return-value]


# ---------------------------------------------------------------------------- vLLM
def vllm_sampling_kwargs() -> dict:
    """One generated token (vLLM must generate something); ``prompt_logprobs=0``: the prompt tokens' own."""
    return dict(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False)


def vllm_request(seq: Sequence_) -> dict:
    return {"prompt_token_ids": list(seq.ids)}  # a TokensPrompt: no re-tokenisation by the engine


def _logprob(entry: Any) -> float:
    return float(entry.logprob if hasattr(entry, "logprob") else entry)


def parse_prompt_logprobs(outputs: Sequence[Any], seqs: Sequence[Sequence_]) -> list[np.ndarray]:
    """Response-token log-probabilities from vLLM RequestOutputs (``.prompt_logprobs``: None, then one
    {token_id: Logprob} per position)."""
    res = []
    for out, sq in zip(outputs, seqs):
        plp = out.prompt_logprobs
        if plp is None or len(plp) != len(sq.ids):
            raise DDCFError("vLLM returned no prompt log-probabilities of the expected length.",
                            "use a vLLM version that supports SamplingParams(prompt_logprobs=...), or --backend hf.")
        res.append(np.array([_logprob(plp[t][sq.ids[t]]) for t in range(sq.n_prompt, len(sq.ids))],
                            dtype=np.float64))
    return res


def vllm_logprobs(llm, seqs: Sequence[Sequence_]) -> list[np.ndarray]:
    from vllm import SamplingParams

    params = SamplingParams(**vllm_sampling_kwargs())
    outputs = llm.generate([vllm_request(s) for s in seqs], params, use_tqdm=False)
    return parse_prompt_logprobs(outputs, seqs)
