"""The local executor: the shards one after another in this process, with one worker state (one model load)."""

from __future__ import annotations

from ddcf.executors.base import Executor, JobProgress, JobSummary, Shard, ShardJob, run_one


class LocalExecutor(Executor):
    name = "local"

    def _run(self, job: ShardJob, pending: list[Shard], summary: JobSummary, bar: JobProgress) -> None:
        state = job.open()
        for shard in pending:
            stat = run_one(job, state, shard)
            summary.stats.append(stat)
            bar.shard_done(stat)
