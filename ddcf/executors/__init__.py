"""Executors: run a stage's shards in this process (``local``) or on a Ray cluster (``ray``).

A stage describes its work as a :class:`ShardJob` (``base.py``) in its own package (``ddcf/embed/sharded.py``,
``ddcf/difficulty/sharded.py``; generation: ``jobs/generate.py``) and hands it to ``get_executor(name).run``;
this package imports no stage.  The options (``--executor``, ``--ray_address``) are in ``options.py``.
"""

from __future__ import annotations

from ddcf.executors.base import Executor, JobSummary, Shard, ShardJob, ShardStat
from ddcf.executors.local import LocalExecutor
from ddcf.executors.options import EXECUTORS, ExecutorOptions, get_executor

__all__ = ["EXECUTORS", "Executor", "ExecutorOptions", "JobSummary", "LocalExecutor", "Shard", "ShardJob",
           "ShardStat", "get_executor"]
