"""One cache part of ``ddcf score``: the scorer (the model, loaded once), scoring one block, writing its part.

Shared by the local loop (:mod:`ddcf.score.stage`) and the Ray workers (:mod:`ddcf.score.sharded`), so both
write the same bytes for the same block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ddcf.io import write_parquet
from ddcf.runs.backends import create_backend, engine_installed
from ddcf.runtime import cuda_available
from ddcf.score.config import ScoreConfig
from ddcf.score.logprobs import build_sequences, hf_logprobs, vllm_logprobs


def scorer(config: ScoreConfig):
    """fn(seqs, on_batch) -> per-token log-probs, the backend (its tokenizer, context limit) and a description."""
    name = config.backend
    if name == "auto":
        name = "vllm" if cuda_available() and engine_installed("vllm") else "hf"
    backend = create_backend(name, config.model_name, config.backend_options())
    if name == "vllm":
        def score(seqs, on_batch):
            out = vllm_logprobs(backend.llm, seqs)
            on_batch(len(seqs))
            return out
        return score, backend, "vllm prompt_logprobs"
    def score_hf(seqs, on_batch):
        return hf_logprobs(backend.lm, seqs, backend.batch_size, backend.tokenizer.pad_token_id, backend.device,
                           on_batch)
    return score_hf, backend, f"transformers on {backend.device}"


def score_part(config: ScoreConfig, score, backend, part: pd.DataFrame,
               on_batch: Callable[[int], None]) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """The rows of one block (None when none of its questions can be scored) and the skipped ids -> why."""
    limit = config.max_length or backend.context_limit
    prompts = [config.prompt_template.replace("{question}", q) for q in part["question"].astype(str)]
    built = build_sequences(backend.tokenizer, prompts, part["response"].astype(str).tolist(), limit)
    ok = [i for i, q in enumerate(built) if not isinstance(q, str)]
    skipped = {str(part["question_id"].iloc[i]): q for i, q in enumerate(built) if isinstance(q, str)}
    if not ok:
        return None, skipped
    seqs = [built[i] for i in ok]
    lps = score(seqs, on_batch)  # a line every few seconds in a log, inside the block too
    sums = np.array([float(np.sum(lp)) for lp in lps])
    n_tok = np.array([len(lp) for lp in lps], dtype=np.int64)
    rows = pd.DataFrame({"question_id": part["question_id"].to_numpy()[ok], "n_tokens": n_tok,
                         "sum_logprob": sums, "mean_logprob": sums / n_tok,
                         "perplexity": np.exp(-sums / n_tok), "truncated": [q.truncated for q in seqs],
                         "key": part["key"].to_numpy()[ok]})
    return rows, skipped


def write_part(rows: pd.DataFrame, path: Path, model: str, config: ScoreConfig) -> None:
    write_parquet(rows, path, metadata={"model": model, "model_source": config.model_name})
