"""``ddcf distill --executor ray``: the distillation shards as a shard job, one per pending run-folder shard.

The unit of work is the local path's: :func:`ddcf.distill.teacher.distill_shard` on the same slice of the
selection (its verification rounds included: each worker holds the teacher and, with ``--verify_responses``, a
verifier), written through the same :class:`~ddcf.runs.folder.RunFolder` with the same marker, so a Ray run and a
local run resume each other and every row is what the local loop writes (per-question seeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ddcf.distill import teacher
from ddcf.distill.config import DistillConfig
from ddcf.executors.base import Executor, Shard, ShardJob
from ddcf.executors.jobs.generate import worker_gpus
from ddcf.runs.engine import open_engine
from ddcf.runs.folder import RunFolder
from ddcf.verify.equivalence import Verifier


@dataclass
class DistillJob(ShardJob):
    config: DistillConfig
    backend_name: str
    folder: Path  # the run folder (distilled/shards)
    settings: dict  # its run config
    sha: str  # the settings' hash: the shards' marker
    parts: list  # (shard index, question ids hash, the slice of the selected questions), pending shards only
    attempts: int
    name = "distillation"
    unit = "q"

    def _run(self) -> RunFolder:
        return RunFolder(Path(self.folder), self.settings, self.sha)

    def shards(self) -> list[Shard]:
        return [Shard(i, len(part), (ids_hash, part)) for i, ids_hash, part in self.parts]

    def is_done(self, shard: Shard) -> bool:
        return self._run().shard_done(shard.index, shard.payload[0], shard.size)

    def resources(self) -> dict:
        gpus = worker_gpus(self.config, self.backend_name)
        return {"num_cpus": 1, "num_gpus": gpus} if gpus else {"num_cpus": 1}

    def open(self):
        backend = open_engine(self.config, self.config.teacher, self.backend_name)
        verifier = None
        if self.config.verify_responses:
            c = self.config
            verifier = Verifier(timeout=c.timeout, workers=c.workers, progress=False)
        return backend, verifier

    def run_shard(self, state, shard: Shard) -> dict:
        """Distill one shard and write it; returns the engine's info (for distill.json)."""
        backend, verifier = state
        df = teacher.distill_shard(backend, shard.payload[1], self.config, verifier, self.attempts)
        self._run().write_shard(shard.index, df[teacher.SHARD_COLUMNS])
        return backend.info()


def distill_with_executor(executor: Executor, config: DistillConfig, backend_name: str, run: RunFolder,
                          parts: list, attempts: int):
    """Run the pending ``parts`` on ``executor``; returns ``(the engine's info, the executor's summary)``."""
    job = DistillJob(config, backend_name, run.path, run.settings, run.sha, parts, attempts)
    summary = executor.run(job, progress=config.progress)
    info = next((s.info for s in summary.stats if s.info), {"backend": backend_name})
    return info, summary
