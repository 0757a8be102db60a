"""Generation (``infer.py``, ``ddcf evaluate``'s answers) as a shard job: one shard per (model, shard index).

The unit of work is the run toolkit's ``ddcf.runs.shard.run_shard(backend, recipe, task)``: it generates one
:class:`~ddcf.runs.shard.ShardTask` and writes that shard of the run folder atomically with its marker, the
same file the local loop (``ddcf.runs.shard.run_shards``) writes, so a Ray run and a local run resume each
other through ``open_run``.  A worker opens the engine once (``ddcf.runs.engine.open_engine``) with the GPUs
the model needs (tensor x data parallel) reserved on the cluster, then takes shard after shard.

The stage still plans the run (``open_run``, the pending shards) and verifies it afterwards; only the loop over
the pending tasks moves to the executor.  A worker does not re-check a task's marker: the stage hands over only
unfinished shards, and ``run_shard`` is idempotent (a retried shard writes the same rows again).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ddcf.executors.base import Executor, Shard, ShardJob
from ddcf.runs.engine import GPU_BACKENDS, open_engine
from ddcf.runs.shard import run_shard


@dataclass
class GenerationJob(ShardJob):
    tasks: list  # ddcf.runs.shard.ShardTask, plain data
    recipe: Any  # GenerateRecipe / EvalRecipe: a picklable dataclass
    engine_config: Any  # the stage's config (an EngineOptions): what open_engine reads
    model: str
    backend_name: str
    context_length: int | None = None
    gpus: float = 0.0  # per worker: tensor_parallel_size x data_parallel_size of this model
    name = "generation"
    unit = "q"

    def shards(self) -> list[Shard]:
        return [Shard(t.index, len(t.rows), t) for t in self.tasks]

    def is_done(self, shard: Shard) -> bool:
        return False  # see the module docstring: only pending shards are handed over

    def resources(self) -> dict:
        return {"num_cpus": 1, "num_gpus": self.gpus} if self.gpus else {"num_cpus": 1}

    def open(self):
        return open_engine(self.engine_config, self.model, self.backend_name, context_length=self.context_length)

    def run_shard(self, state, shard: Shard) -> dict:
        """Write the shard; its metadata names the engine as the local loop's does (the driver loaded none)."""
        info = state.info()
        task = shard.payload
        run_shard(state, self.recipe, replace(task, meta={**task.meta, "backend": info}) if "backend" in task.meta
                  else task)
        return info


def worker_gpus(config, backend_name: str) -> float:
    """GPUs one worker reserves: tensor parallel x (an explicit --data_parallel_size, else 1) for the GPU
    engines; the replicas the local path builds from all visible GPUs are Ray workers here."""
    if backend_name not in GPU_BACKENDS:
        return 0.0
    return float(config.tensor_parallel_size * (config.data_parallel_size or 1))


def generate_with_executor(executor: Executor, tasks: list, recipe, engine_config, model: str, backend_name: str,
                           *, context_length: int | None = None, gpus: float = 0.0, progress: bool = True):
    """What ``run_shards`` does, on ``executor``; returns the executor's summary (shards, per-node rate)."""
    job = GenerationJob(list(tasks), recipe, engine_config, model, backend_name, context_length, gpus)
    return executor.run(job, progress=progress)
