"""Executors: run a stage's shards in this process (``local``) or on a Ray cluster (``ray``).

``get_executor(name)`` gives one; a stage hands it a :class:`ShardJob` (``base.py``).  The jobs of the stages
that spread their work live in ``jobs/``; the options (``--executor``, ``--ray_address``) in ``options.py``.
"""

from __future__ import annotations

from ddcf.executors.base import Executor, JobSummary, Shard, ShardJob, ShardStat
from ddcf.executors.local import LocalExecutor
from ddcf.executors.options import EXECUTORS, ExecutorOptions

__all__ = ["EXECUTORS", "Executor", "ExecutorOptions", "JobSummary", "LocalExecutor", "Shard", "ShardJob",
           "ShardStat", "get_executor"]


def get_executor(name: str = "local", ray_address: str | None = None, **kw) -> Executor:
    """The executor ``--executor NAME`` names (Ray is imported only when its run starts)."""
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        from ddcf.executors.ray import RayExecutor, import_ray

        import_ray()  # refuse up front, before any work, when ray is missing
        return RayExecutor(address=ray_address, **kw)
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
