"""``ddcf score``: the target's log-probability of every corpus response given its question, resumable.

Reads  DDCF_data/corpus/questions.parquet (question_id, question, response)
Writes DDCF_data/scores/<model>/shards/part-*.parquet   the cache, one shard per --shard_size questions
       DDCF_data/scores/<model>/scores.parquet          question_id, n_tokens, sum_logprob, mean_logprob,
                                                        perplexity, truncated (metadata: model, prompt_template)
Cache key: (model, question id, sha256 of prompt template + question + response + max_length); a rerun scores
only the questions whose key is not in a shard yet, so a killed run resumes and a changed corpus text is rescored.
A cached row without a finite score (a damaged shard) counts as not cached: it is scored again.  ``<model>`` is
``--name`` (default ``--model_name``): the name ``k_greedy_selection.py --model_name`` looks the scores up by.
A question that cannot be scored (an empty response, a prompt longer than the context) is skipped and named in
the summary; the others are scored.  Progress is counted per forward pass (a log line every few seconds even
inside one shard); ``--overwrite`` drops this name's cache and scores everything again.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pandas as pd

from ddcf import __version__
from ddcf.artifacts.corpus import read_corpus
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import hash_ids, read_parquet_metadata, write_parquet
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.runtime import progress
from ddcf.score.config import ScoreConfig
from ddcf.score.parts import score_part, scorer, write_part
from ddcf.score.sharded import score_with_executor
from ddcf.select.pools import read_pool_ids

SCORE_COLUMNS = ["question_id", "n_tokens", "sum_logprob", "mean_logprob", "perplexity", "truncated"]


def text_key(template: str, question: str, response: str, max_length: int | None) -> str:
    return hashlib.sha256(f"{template}\x00{question}\x00{response}\x00{max_length}".encode()).hexdigest()[:32]


def read_cache(layout: Layout, model: str) -> tuple[pd.DataFrame, int]:
    """The cached rows with a usable score, and how many cached rows were not (NaN/inf, no token)."""
    shards = sorted(layout.score_shards(model).glob("part-*.parquet"))
    frames = []
    for path in shards:
        got = read_parquet_metadata(path).get("model")
        if got != model:
            raise InputMismatchError(
                f"The score shard {path} was computed for the model {got!r}, not {model!r}.",
                f"delete {layout.score_shards(model)} (or pass --name {got}) and rerun ddcf score.")
        frames.append(pd.read_parquet(path))
    if not frames:
        return pd.DataFrame(columns=[*SCORE_COLUMNS, "key"]), 0
    cache = pd.concat(frames, ignore_index=True)
    values = cache[["sum_logprob", "mean_logprob", "perplexity"]].to_numpy(np.float64)
    good = np.isfinite(values).all(axis=1) & (cache["n_tokens"].to_numpy() > 0)
    damaged = int((~good & ~cache["key"].isin(set(cache["key"][good]))).sum())
    return cache[good].drop_duplicates("key", keep="last").reset_index(drop=True), damaged


def run(layout: Layout, config: ScoreConfig) -> Report:
    t0 = time.perf_counter()
    model = (config.name or config.model_name).strip()
    if "{question}" not in config.prompt_template:
        raise DDCFError(f"--prompt_template {config.prompt_template!r} does not contain {{question}}.",
                        "put {question} where the question goes, e.g. --prompt_template 'Question: {question}\\n'.")
    corpus = read_corpus(layout)
    if config.pool:
        corpus = corpus[corpus["question_id"].isin(read_pool_ids(config.pool))].reset_index(drop=True)
    keys = [text_key(config.prompt_template, q, r, config.max_length)
            for q, r in zip(corpus["question"].astype(str), corpus["response"].astype(str))]
    corpus = corpus.assign(key=keys)
    if config.overwrite:  # the start-over flag of every resumable stage: drop this name's cache
        for p in [*layout.score_shards(model).glob("part-*.parquet"), layout.scores(model)]:
            p.unlink(missing_ok=True)
    cache, damaged = read_cache(layout, model)
    todo = corpus[~corpus["key"].isin(set(cache["key"]))].reset_index(drop=True)
    shard_dir = layout.score_shards(model)
    done_before = len(corpus) - len(todo)
    how = "cache only"
    skipped: dict[str, str] = {}  # question id -> why it cannot be scored
    executor_lines: list[str] = []
    if len(todo):
        names = [int(p.stem.split("-")[1]) for p in shard_dir.glob("part-*.parquet") if p.stem.split("-")[1].isdigit()]
        start = max(names, default=-1) + 1
        if config.executor != "local":  # the same blocks and part numbers, on the executor's workers
            skipped, how, job = score_with_executor(config.executor_for(), config, model, shard_dir, start, todo)
            executor_lines = job.lines("q")
        else:
            score, backend, how = scorer(config)
            bar = progress(total=len(todo), desc=f"scoring {model}", unit="q", enabled=config.progress)
            for s in range(0, len(todo), config.shard_size):
                part = todo.iloc[s:s + config.shard_size]
                rows, why = score_part(config, score, backend, part, bar.update)
                skipped.update(why)
                if rows is not None:
                    write_part(rows, shard_dir / f"part-{start:05d}.parquet", model, config)
                    start += 1
                bar.update(len(why))  # the skipped ones
            bar.close()
            backend.close()
        cache, _ = read_cache(layout, model)
    table = corpus[["question_id", "key"]].merge(cache, on=["question_id", "key"], how="left")
    table = table[SCORE_COLUMNS]
    out = layout.scores(model)
    write_parquet(table, out, metadata=dict(model=model, model_source=config.model_name,
                                            prompt_template=config.prompt_template,
                                            max_length=config.max_length, scorer=how,
                                            question_ids_sha256=hash_ids(table["question_id"]),
                                            created_by=f"ddcf {__version__} ddcf score"))
    secs = time.perf_counter() - t0
    n_trunc = int(table["truncated"].fillna(False).astype(bool).sum())
    scored = table["perplexity"].notna()
    source = f" (loaded from {config.model_name})" if model != config.model_name else ""
    summary = (f"ddcf score - token log-probabilities of {len(table):,} corpus responses under {model}{source}\n"
               f"  scored now {len(todo) - len(skipped):,} ({how}), from the cache {done_before:,}; "
               f"{n_trunc:,} truncated; {len(skipped):,} skipped\n"
               + (f"  median perplexity {float(np.median(table['perplexity'][scored])):.3f}; "
                  f"mean tokens {float(table['n_tokens'][scored].mean()):.1f}\n" if scored.any() else "")
               + f"  -> {out}" + "".join("\n  " + line for line in executor_lines))
    warnings = [f"{n_trunc:,} responses were cut to fit the context (truncated=True)."] if n_trunc else []
    if damaged:
        warnings.append(f"{damaged:,} cached score(s) in {shard_dir} were not finite (a damaged shard): they were "
                        "scored again.")
    if skipped:
        sample = "; ".join(f"{q}: {why}" for q, why in list(skipped.items())[:3])
        warnings.append(f"{len(skipped):,} question(s) could not be scored and have no score ({sample}"
                        f"{' ...' if len(skipped) > 3 else ''}); raise --max_length or shorten --prompt_template, or "
                        "leave them out of the selection pool (--pool).")
    return Report(stage="score", summary=summary, files=[out], warnings=warnings, config_dir=layout.scores_dir(model),
                  details=dict(table=table, scored=len(todo) - len(skipped), cached=done_before,
                               skipped=skipped, damaged=damaged), seconds=secs)
