"""The shard job an executor runs, what it reports, and the executor interface.

A stage that can spread its work describes it as a :class:`ShardJob`: a list of :class:`Shard` s, each
"compute shard i, write its file atomically, then its completion marker".  An executor runs the shards whose
marker is missing and nothing else, so

* a Ray run and a local run of the same job resume each other (they read and write the same markers);
* a killed worker or a lost node costs only the shards it was computing (their half-written files are
  temporaries: :func:`ddcf.io.atomic_path`), never the finished ones;
* a worker checks the marker again just before computing, so a shard another run (or an earlier try whose
  answer was lost with its worker) finished is not computed twice.

Everything a shard needs travels with the job and the shard itself (paths, texts, row ranges: plain data), and
the outputs go to the work directory, which a Ray cluster must share (an NFS/Lustre mount, the same path on
every node).
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddcf.runtime import progress as progress_bar


@dataclass(frozen=True)
class Shard:
    """One unit of work: ``index`` (its place in the job), ``size`` (items it holds, for throughput) and
    ``payload`` (plain data the worker needs beyond the job: texts, a row range)."""

    index: int
    size: int
    payload: Any = None


@dataclass(frozen=True)
class ShardStat:
    """What computing one shard took, and where."""

    index: int
    size: int
    seconds: float
    node: str
    skipped: bool = False  # found finished by the worker (another run did it meanwhile)
    info: Any = None  # what the job's run_shard returned (plain data the driver reports: skipped rows, engine)


class ShardJob:
    """A stage's work as shards.  Subclass it; it must be plain data (it is sent to every Ray worker).

    ``open`` builds a worker's state once (load the model); ``run_shard`` computes one shard and writes its
    outputs atomically, the completion marker last; ``is_done`` says whether a shard's marker exists.
    """

    #: the progress bar's label and unit
    name: str = "shards"
    unit: str = "item"

    def shards(self) -> list[Shard]:
        raise NotImplementedError

    def marker(self, shard: Shard) -> Path | None:
        """The file whose existence means ``shard`` is finished (None: :meth:`is_done` decides otherwise)."""
        return None

    def is_done(self, shard: Shard) -> bool:
        m = self.marker(shard)
        return m is not None and m.exists()

    def resources(self) -> dict:
        """What one worker needs on a Ray cluster (``num_cpus``, ``num_gpus``)."""
        return {"num_cpus": 1}

    def open(self) -> Any:
        """The worker's state (e.g. a loaded model), built once per worker and reused for its shards."""
        return None

    def run_shard(self, state: Any, shard: Shard) -> Any:
        """Compute and write ``shard``; may return plain data for the driver (:attr:`ShardStat.info`)."""
        raise NotImplementedError


def node_name() -> str:
    return platform.node() or "localhost"


def run_one(job: ShardJob, state: Any, shard: Shard) -> ShardStat:
    """Compute ``shard`` unless its marker exists meanwhile; what both executors' workers do."""
    t0 = time.perf_counter()
    if job.is_done(shard):
        return ShardStat(shard.index, shard.size, 0.0, node_name(), skipped=True)
    info = job.run_shard(state, shard)
    return ShardStat(shard.index, shard.size, time.perf_counter() - t0, node_name(), info=info)


@dataclass
class JobSummary:
    """What one executor run did: shards computed (with where and how fast), shards skipped as finished."""

    executor: str
    n_shards: int
    n_skipped: int  # finished before this run started
    stats: list[ShardStat] = field(default_factory=list)
    wall_seconds: float = 0.0
    n_retried: int = 0  # shard tries lost with their worker and run again

    @property
    def n_computed(self) -> int:
        return sum(not s.skipped for s in self.stats)

    def per_node(self) -> dict[str, dict]:
        """``node -> {shards, items, seconds, rate}`` (rate: items per second of that node's workers' time)."""
        out: dict[str, dict] = {}
        for s in self.stats:
            if s.skipped:
                continue
            d = out.setdefault(s.node, {"shards": 0, "items": 0, "seconds": 0.0})
            d["shards"] += 1
            d["items"] += s.size
            d["seconds"] += s.seconds
        for d in out.values():
            d["rate"] = d["items"] / d["seconds"] if d["seconds"] > 0 else 0.0
        return out

    def lines(self, unit: str = "item") -> list[str]:
        items = sum(s.size for s in self.stats if not s.skipped)
        rate = items / self.wall_seconds if self.wall_seconds > 0 else 0.0
        head = (f"executor {self.executor}: {self.n_computed} of {self.n_shards} shard(s) computed now, "
                f"{self.n_skipped} already finished")
        if self.n_retried:
            head += f", {self.n_retried} lost with their worker and run again"
        out = [head + f"; {items:,} {unit} in {self.wall_seconds:.1f} s = {rate:.1f} {unit}/s"]
        for node, d in sorted(self.per_node().items()):
            out.append(f"  node {node}: {d['shards']} shard(s), {d['items']:,} {unit}, "
                       f"{d['rate']:.1f} {unit}/s per worker")
        return out


class JobProgress:
    """One bar for the whole job: items done (so the rate is the job's throughput) and shards done / total."""

    def __init__(self, job: ShardJob, executor: str, total_items: int, n_shards: int, n_done: int, enabled: bool):
        self.n_shards, self.n_done = n_shards, n_done
        self.bar = progress_bar(total=total_items, desc=f"{job.name} ({executor})", unit=job.unit, enabled=enabled)
        self._postfix()

    def _postfix(self) -> None:
        self.bar.set_postfix_str(f"shards {self.n_done}/{self.n_shards}")

    def shard_done(self, stat: ShardStat) -> None:
        self.n_done += 1
        self._postfix()
        self.bar.update(stat.size)

    def close(self) -> None:
        self.bar.close()


class Executor:
    """Runs a :class:`ShardJob`'s unfinished shards; ``run`` returns a :class:`JobSummary`."""

    name = "base"

    def run(self, job: ShardJob, progress: bool = True) -> JobSummary:
        t0 = time.perf_counter()
        shards = job.shards()
        pending = [s for s in shards if not job.is_done(s)]
        summary = JobSummary(self.name, len(shards), len(shards) - len(pending))
        bar = JobProgress(job, self.name, sum(s.size for s in pending), len(shards), summary.n_skipped, progress)
        try:
            if pending:
                self._run(job, pending, summary, bar)
        finally:
            bar.close()
        summary.wall_seconds = time.perf_counter() - t0
        return summary

    def _run(self, job: ShardJob, pending: list[Shard], summary: JobSummary, bar: JobProgress) -> None:
        raise NotImplementedError
