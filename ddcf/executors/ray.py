"""The Ray executor: a pool of actors, each holding the job's worker state (the model), fed one shard at a time.

Why actors and not Ray Data: the unit of work here is a shard with a file and a completion marker (what the
local path writes), not a stream of rows; an actor pool keeps the model loaded once per worker like
``map_batches`` with an actor pool would, while the driver keeps what the resume rules need -- which shard runs
where, which were lost with a dead worker (run again, up to ``max_retries`` times), and one progress bar.

Ray is imported only here, and only when a Ray run starts.
"""

from __future__ import annotations

import collections
import os
import socket

from ddcf.errors import DDCFError
from ddcf.executors.base import Executor, JobProgress, JobSummary, Shard, ShardJob, run_one
from ddcf.runtime import require

INSTALL_HINT = 'pip install -e ".[ray]"'
#: how often a shard whose worker died is tried again in the same run (a rerun of the command starts afresh)
MAX_RETRIES = 2


def import_ray():
    require("ray", INSTALL_HINT, "--executor ray")
    import ray

    return ray


class _Worker:
    """The actor: the job's state built once, then one shard per call."""

    def __init__(self, job: ShardJob):
        self.job = job
        self.state = job.open()

    def run(self, shard: Shard):
        return run_one(self.job, self.state, shard)


def _start_failure(job: ShardJob, exc: BaseException) -> DDCFError:
    """A worker whose setup failed (the model does not load, the job cannot be unpacked): the same failure
    would meet every retry, so it ends the run, with the worker's own error (a DDCFError's one paragraph)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    ddcf = [line.split("DDCFError:", 1)[1].strip() for line in lines if "DDCFError:" in line]
    errors = [line for line in lines if "Error:" in line and not line.startswith("ray.exceptions")]
    why = (ddcf or errors or lines or ["(no message)"])[-1]
    return DDCFError(f"A Ray worker could not start the {job.name} job: {why}",
                     "fix the cause above (every node needs ddcf and the job's model or files at the same paths), "
                     "then run the same command again.")


def check_reachable(address: str | None, timeout: float = 5.0) -> None:
    """Refuse a ``host:port`` address nothing listens on within seconds: ``ray.init`` itself retries an
    unreachable head for minutes, printing only its own warnings."""
    if not address or address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return  # not host:port (a name Ray resolves itself): let ray.init judge it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise DDCFError(
            f"--ray_address {address}: nothing answers at {host}:{port} ({exc.strerror or type(exc).__name__}).",
            "start the head with `ray start --head` and pass the address it printed (or --ray_address auto on a "
            "cluster node), or leave --ray_address out to run on this machine only.",
        ) from None


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str | None = None, max_retries: int | None = None, max_workers: int | None = None):
        self.address = address
        self.max_retries = MAX_RETRIES if max_retries is None else max_retries
        self.max_workers = max_workers

    def _connect(self, ray) -> bool:
        """Join (or start) a Ray instance; True when this run started it (and so shuts it down)."""
        if ray.is_initialized():
            return False
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        check_reachable(address)
        try:
            ray.init(address=address, include_dashboard=False, configure_logging=False,
                     log_to_driver=True, ignore_reinit_error=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise DDCFError(
                f"Could not join the Ray cluster at {address!r}: {type(exc).__name__}: {str(exc).splitlines()[0]}.",
                "start one with `ray start --head` (then --ray_address auto), pass the address `ray start` printed, "
                "or leave --ray_address out to run on this machine only.",
            ) from None
        return True

    def _n_workers(self, ray, job: ShardJob, n_pending: int) -> int:
        res = job.resources()
        total = ray.cluster_resources()
        slots = []
        for key, name in (("num_cpus", "CPU"), ("num_gpus", "GPU")):
            need = float(res.get(key) or 0)
            if need > 0:
                have = float(total.get(name, 0))
                if have < need:
                    raise DDCFError(
                        f"Each worker of this job needs {need:g} {name}(s), but the Ray cluster has {have:g}.",
                        "add nodes with that hardware to the cluster, or run with --executor local.",
                    )
                slots.append(int(have // need))
        n = min([n_pending, *slots]) if slots else n_pending
        return max(1, min(n, self.max_workers or n))

    def _run(self, job: ShardJob, pending: list[Shard], summary: JobSummary, bar: JobProgress) -> None:
        ray = import_ray()
        started = self._connect(ray)
        res = job.resources()
        # The actor itself is not restarted by Ray: the driver replaces a dead one, so it knows which shard died.
        actor_cls = ray.remote(num_cpus=res.get("num_cpus", 1), num_gpus=res.get("num_gpus", 0),
                               max_restarts=0)(_Worker)
        job_ref = ray.put(job)
        actors = [actor_cls.remote(job_ref) for _ in range(self._n_workers(ray, job, len(pending)))]
        queue = collections.deque(pending)
        tries: collections.Counter = collections.Counter()
        lost = (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.ObjectLostError)
        inflight: dict = {}
        idle = list(actors)
        fatal: BaseException | None = None
        try:
            while inflight or (queue and fatal is None):
                # After a fatal error no new shard starts, but the running ones finish (and keep their files).
                while queue and idle and fatal is None:
                    actor, shard = idle.pop(), queue.popleft()
                    inflight[actor.run.remote(shard)] = (actor, shard)
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    actor, shard = inflight.pop(ref)
                    try:
                        stat = ray.get(ref)
                    except lost as exc:
                        if getattr(exc, "actor_init_failed", False):  # the worker could not even start: no retry
                            fatal = fatal or _start_failure(job, exc)
                            continue
                        tries[shard.index] += 1
                        if tries[shard.index] > self.max_retries:
                            fatal = fatal or DDCFError(
                                f"Shard {shard.index} of {job.name} was lost with its Ray worker "
                                f"{tries[shard.index]} time(s) (a node failure, or the worker ran out of memory).",
                                "run the same command again: finished shards are kept and only the unfinished "
                                "ones run; if it keeps failing, see the worker logs in /tmp/ray/session_latest.",
                            )
                            continue
                        summary.n_retried += 1
                        queue.appendleft(shard)
                        new = actor_cls.remote(job_ref)  # a fresh worker in place of the dead one
                        actors.append(new)
                        idle.append(new)
                        continue
                    except ray.exceptions.RayTaskError as exc:
                        cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
                        fatal = fatal or (DDCFError(cause.what, cause.fix) if isinstance(cause, DDCFError) else exc)
                        idle.append(actor)
                        continue
                    summary.stats.append(stat)
                    bar.shard_done(stat)
                    idle.append(actor)
        finally:
            for actor in actors:
                ray.kill(actor, no_restart=True)
            if started:
                ray.shutdown()
        if fatal is not None:
            raise fatal
