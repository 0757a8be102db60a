"""One shard of completions, for any stage: prompts -> ``n`` samples per question -> the stage's follow-ups.

Stage 1 generation and evaluation differ only in how a question becomes a prompt and which completions get a
follow-up; both are a :class:`ShardRecipe` (:class:`ddcf.generate.completions.GenerateRecipe`,
:class:`ddcf.evaluate.generation.EvalRecipe`), and :func:`generate_shard` is the one loop around them.

:func:`run_shard` is the unit of work "(model, shard index) -> shard file": given an engine, a recipe and a
:class:`ShardTask` (all plain data: the run folder, the index, the questions, the marker) it generates and writes
the shard atomically.  It touches nothing but that one file, so any process that can open the engine (a Ray
worker, issue 24) can run it; the local path runs the tasks in a loop (:func:`run_shards`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import pandas as pd

from ddcf.runs.folder import RunFolder, merge_rows, settings_sha256
from ddcf.runtime import progress as progress_bar

#: the columns every completion shard has (one row per question and sample)
SHARD_COLUMNS = [
    "question_id", "sample", "dataset", "question", "gold", "prompt_tokens", "n_shots", "prompt_truncated",
    "raw_completion", "completion", "completion_tokens", "finish_reason", "followup", "followup_text",
    "followup_tokens",
]
_DTYPES = {"sample": "int64", "prompt_tokens": "int64", "n_shots": "int64", "completion_tokens": "int64",
           "followup_tokens": "int64", "prompt_truncated": "bool", "followup": "bool"}


@dataclass
class Followup:
    """What a completion became: its final text and the follow-up completions that made it (in order)."""

    final: str
    parts: list = field(default_factory=list)


class ShardRecipe(Protocol):
    """How a stage turns questions into prompts and completions into final answers (plain data: picklable)."""

    #: the shard's columns: :data:`SHARD_COLUMNS`, plus ``prompt`` (the prompt text) if the stage keeps it
    columns: list[str]
    n: int  # samples per question

    def prompts(self, tok, part: pd.DataFrame) -> list:
        """One :class:`ddcf.generate.prompts.BuiltPrompt` per question (ids, n_shots, truncated, text)."""

    def sampling(self, tok):
        """The main generation's SamplingSpec."""

    def seeds(self, part: pd.DataFrame) -> list[int] | None:
        """One sampling seed per question (None: greedy)."""

    def followups(self, backend, part: pd.DataFrame, prompts: list, outs: list) -> tuple[dict, int]:
        """(question index, sample) -> :class:`Followup` for the completions that need one; prompt tokens sent."""

    def dataset(self, row) -> str:
        """The ``dataset`` column of a question's rows (the verifier's grading style)."""


def generate_shard(backend, part: pd.DataFrame, recipe: ShardRecipe) -> tuple[pd.DataFrame, dict]:
    """Completions of ``part`` (one row per question and sample, ``recipe.columns``) and the shard's token stats
    (wall_s, prompt_tokens, generated_tokens, n_followups)."""
    tok = backend.tokenizer
    built = recipe.prompts(tok, part)
    t0 = time.perf_counter()
    outs = backend.generate([b.ids for b in built], recipe.sampling(tok), recipe.seeds(part))
    if len(outs) != len(built) or any(len(r) != recipe.n for r in outs):
        raise RuntimeError(f"backend {backend.name} returned a wrong number of completions")
    fu, fu_prompt_tokens = recipe.followups(backend, part, built, outs)
    wall = time.perf_counter() - t0
    keep_prompt = "prompt" in recipe.columns
    rows, generated = [], 0
    for i, (q, b) in enumerate(zip(part.itertuples(index=False), built)):
        for s, c in enumerate(outs[i]):
            f = fu.get((i, s))
            parts = f.parts if f is not None else []
            fu_tokens = sum(x.n_completion_tokens for x in parts)
            generated += c.n_completion_tokens + fu_tokens
            row = {
                "question_id": q.question_id, "sample": s, "dataset": recipe.dataset(q), "question": q.question,
                "gold": q.gold, "prompt_tokens": len(b.ids), "n_shots": b.n_shots, "prompt_truncated": b.truncated,
                "raw_completion": c.text, "completion": c.text if f is None else f.final,
                "completion_tokens": c.n_completion_tokens, "finish_reason": c.finish_reason,
                "followup": bool(parts), "followup_text": "".join(x.text for x in parts), "followup_tokens": fu_tokens,
            }
            if keep_prompt:
                row["prompt"] = b.text
            rows.append(row)
    df = pd.DataFrame(rows, columns=recipe.columns).astype(_DTYPES)
    stats = {"wall_s": wall, "prompt_tokens": int(sum(len(b.ids) for b in built) * recipe.n + fu_prompt_tokens),
             "generated_tokens": int(generated), "n_followups": sum(len(f.parts) for f in fu.values())}
    return df, stats


# --------------------------------------------------------------------------- the unit of work
@dataclass
class ShardTask:
    """Shard ``index`` of the run folder ``folder``: generate ``rows`` (the slice, or its missing part) and write
    it; ``slice_ids`` is the whole slice, ``held`` the ids the shard file holds already (kept, merged in order);
    ``meta`` goes into the shard's metadata beside the marker.  Plain data: it travels to another process."""

    folder: str
    settings: dict
    index: int
    rows: pd.DataFrame
    slice_ids: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict)


def run_shard(backend, recipe: ShardRecipe, task: ShardTask) -> Path:
    """Generate ``task.rows`` with ``backend`` and ``recipe`` and write shard ``task.index`` of ``task.folder``
    atomically (merged with the rows it held).  Returns the shard file.  Idempotent: a rerun after a kill redoes
    only this file, and writes the same rows (per-question seeds)."""
    return _run_shard(backend, recipe, task)[0]


def _run_shard(backend, recipe: ShardRecipe, task: ShardTask) -> tuple[Path, dict]:
    run = RunFolder(Path(task.folder), task.settings, settings_sha256(task.settings))
    df, stats = generate_shard(backend, task.rows, recipe)
    tps = stats["generated_tokens"] / stats["wall_s"] if stats["wall_s"] > 0 else 0.0
    df, stats = merge_rows(run.shard_path(task.index), df, stats, task.slice_ids, task.held, recipe.columns)
    return run.write_shard(task.index, df[recipe.columns], {**task.meta, **stats}), {**stats, "tokens_per_s": tps}


def run_shards(tasks: Iterable[ShardTask], get_backend: Callable[[], Any], recipe: ShardRecipe, *, desc: str,
               progress: bool = True, on_written: Callable[[ShardTask, Path], None] | None = None) -> int:
    """The local executor: every task in this process, one progress bar; the engine is loaded at the first task
    (``get_backend()``), so a finished run never loads it.  Returns the number of shards written."""
    tasks = list(tasks)
    bar = progress_bar(tasks, desc=desc, unit="shard", enabled=progress)
    for task in bar:
        path, stats = _run_shard(get_backend(), recipe, task)
        bar.set_postfix_str(f"{stats['tokens_per_s']:.0f} tok/s")
        if on_written is not None:
            on_written(task, path)
    return len(tasks)
