"""``--executor`` and ``--ray_address``: declared once, mixed into every stage config that can spread its shards.

Imports nothing heavy (``--help`` must stay instant): Ray itself is imported only when a Ray run starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.executors.base import Executor
from ddcf.executors.local import LocalExecutor
from ddcf.executors.ray import RayExecutor, import_ray

EXECUTORS = ("local", "ray")


def get_executor(name: str = "local", ray_address: str | None = None, **kw) -> Executor:
    """The executor ``--executor NAME`` names (Ray itself is imported only when a Ray run starts)."""
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        import_ray()  # refuse up front, before any work, when ray is missing
        return RayExecutor(address=ray_address, **kw)
    raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")


@dataclass
class ExecutorOptions(StageConfig):
    """Where a stage's shards run: in this process, or on the workers of a Ray cluster."""

    executor: str = option(
        "local",
        "Where the shards of this stage run: local = in this process (the single-machine path), ray = one task "
        "per shard on a Ray cluster (pip install -e \".[ray]\"). Both write the same shard files and skip the "
        "finished ones, so a Ray run and a local run resume each other.",
        choices=EXECUTORS,
    )
    ray_address: str | None = option(
        None,
        "Ray cluster to join with --executor ray: 'auto' (the cluster `ray start` made on this machine), "
        "ray://HOST:10001, or HOST:6379 (default: $RAY_ADDRESS, else a Ray instance started for this run on this "
        "machine only).",
        metavar="ADDRESS",
    )

    #: where the shards run is not what they compute: a Ray run writes the same resolved config as a local one
    RUN_ONLY = StageConfig.RUN_ONLY + ("executor", "ray_address")

    def executor_for(self):
        """The :class:`~ddcf.executors.base.Executor` these options name."""
        return get_executor(self.executor, ray_address=self.ray_address)
