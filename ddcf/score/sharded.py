"""``ddcf score --executor ray``: the cache parts as a shard job, one part per ``--shard_size`` questions.

The local path cuts the questions still missing from the cache into ``--shard_size`` blocks and writes block
``j`` as ``part-<start + j>.parquet`` (``start``: one past the highest part already there).  Here each block is a
shard with the same number, scored by a worker that holds the model (loaded once per worker) through the local
path's own functions (:mod:`ddcf.score.parts`), so every part holds the same bytes; the part file
(written atomically) is the shard's marker.  The cache stays content-keyed, so a Ray run and a local run resume
each other: a rerun scores only the keys no part holds yet.  A block in which no question can be scored writes no
part in either path (the local path then reuses its number; here numbers are fixed when the job is planned).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ddcf.executors.base import Executor, Shard, ShardJob
from ddcf.score.config import ScoreConfig
from ddcf.score.parts import score_part, scorer, write_part


@dataclass
class ScoreJob(ShardJob):
    config: ScoreConfig
    model: str  # the name the scores are stored under (--name)
    shard_dir: Path
    start: int  # the number of the first part
    todo: pd.DataFrame  # question_id, question, response, key: the questions no part holds yet, in order
    #: torch threads per worker: the local path's count (a forward pass's sums can differ in the last bit between
    #: thread counts); Ray reserves that many CPUs per worker
    threads: int = 1
    name = "scoring"
    unit = "q"

    def shards(self) -> list[Shard]:
        size = self.config.shard_size
        return [Shard(j, min(size, len(self.todo) - a), a) for j, a in enumerate(range(0, len(self.todo), size))]

    def marker(self, shard: Shard) -> Path:
        return self.shard_dir / f"part-{self.start + shard.index:05d}.parquet"

    def resources(self) -> dict:
        if self.config.backend == "vllm":
            return {"num_cpus": 1, "num_gpus": 1}
        return {"num_cpus": self.threads}

    def open(self):
        import torch  # the heavy import only in a worker

        torch.set_num_threads(self.threads)
        return scorer(self.config)

    def run_shard(self, state, shard: Shard) -> dict:
        """Score one block and write its part; returns the questions that could not be scored (id -> why) and
        the scorer's description (it goes into scores.parquet's metadata, as the local path's does)."""
        score, backend, how = state
        part = self.todo.iloc[shard.payload:shard.payload + shard.size]
        rows, skipped = score_part(self.config, score, backend, part, lambda n: None)
        if rows is not None:
            write_part(rows, self.marker(shard), self.model, self.config)
        return {"skipped": skipped, "scorer": how}


def score_with_executor(executor: Executor, config: ScoreConfig, model: str, shard_dir: Path, start: int,
                        todo: pd.DataFrame):
    """Score ``todo`` on ``executor``; returns ``(skipped id -> why, the scorer's description, the summary)``."""
    import torch  # the driver's thread count is the workers' (see ScoreJob.threads)

    job = ScoreJob(config, model, shard_dir, start, todo.reset_index(drop=True), torch.get_num_threads())
    summary = executor.run(job, progress=config.progress)
    skipped: dict[str, str] = {}
    how = f"{executor.name} workers"
    for stat in sorted(summary.stats, key=lambda s: s.index):
        skipped.update((stat.info or {}).get("skipped", {}))
        how = (stat.info or {}).get("scorer", how)
    return skipped, how, summary
