"""Data parallelism for engines that lack it: one backend replica per GPU group, in worker processes.

``DataParallelBackend("vllm", model, options)`` starts ``data_parallel_size``
spawned processes; worker ``r`` sees only GPUs ``[r*tp, (r+1)*tp)`` of the
visible ones (via ``CUDA_VISIBLE_DEVICES``) and builds its own single-replica
backend there.  ``generate`` deals prompts out round-robin (so every replica
gets a similar mix of short and long prompts, all sharing the same few-shot
prefix), waits for all replicas, and restores prompt order.

Messages between processes are plain lists, dicts and strings.  Worker
processes are not daemonic because vLLM starts processes of its own.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
import traceback
from typing import Sequence

from ddcf.errors import DDCFError
from ddcf.runs.backends.base import (
    Backend,
    BackendOptions,
    Completion,
    Prompt,
    SamplingSpec,
    cuda_device_count,
    get_backend_class,
)


def visible_gpus() -> list[str]:
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None and env.strip():
        return [g.strip() for g in env.split(",") if g.strip()]
    return [str(i) for i in range(cuda_device_count())]


def gpu_groups(dp: int, tp: int, gpus: Sequence[str]) -> list[list[str] | None]:
    """GPU ids of each replica; ``None`` (no pinning) on a machine without GPUs."""
    if not gpus:
        return [None] * dp
    if dp * tp > len(gpus):
        raise DDCFError(
            f"--data_parallel_size {dp} x --tensor_parallel_size {tp} needs {dp * tp} GPUs, "
            f"but {len(gpus)} are visible ({','.join(gpus)}).",
            "lower --data_parallel_size (default: visible GPUs // tensor parallel size) or expose more GPUs.",
        )
    return [list(gpus[r * tp : (r + 1) * tp]) for r in range(dp)]


def _worker_main(rank, name, model, options: dict, gpus, inbox, outbox) -> None:
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
    try:
        opts = dict(options)
        opts.update(data_parallel_size=1, progress=bool(options.get("progress")) and rank == 0)
        backend = get_backend_class(name)(model, BackendOptions(**opts))
        outbox.put(("ready", rank, None))
    except DDCFError as exc:
        outbox.put(("ddcf_error", rank, [exc.what, exc.fix]))
        return
    except BaseException:  # noqa: BLE001 - report anything to the parent
        outbox.put(("error", rank, traceback.format_exc()))
        return
    while True:
        task = inbox.get()
        if task is None:
            break
        task_id, prompts, spec_dict, seeds = task
        try:
            res = backend.generate(prompts, SamplingSpec.from_dict(spec_dict), seeds)
            outbox.put(("result", rank, (task_id, [[c.to_dict() for c in row] for row in res])))
        except BaseException:  # noqa: BLE001
            outbox.put(("error", rank, traceback.format_exc()))
    backend.close()


class DataParallelBackend(Backend):
    """Round-robin over ``data_parallel_size`` replicas of backend ``name``."""

    def __init__(self, name: str, model: str, options: BackendOptions, startup_timeout: float = 3600.0):
        super().__init__(model, options)
        self.inner_name = name
        self.name = f"{name}[dp={options.data_parallel_size}]"
        cls = get_backend_class(name)
        self._tok = cls.load_tokenizer(model, options)
        groups = gpu_groups(options.data_parallel_size, options.tensor_parallel_size, visible_gpus())
        ctx = mp.get_context("spawn")
        self._outbox = ctx.Queue()
        self._inboxes = []
        self._procs = []
        opts = options.to_dict()
        for rank, gpus in enumerate(groups):
            inbox = ctx.Queue()
            p = ctx.Process(target=_worker_main, args=(rank, name, model, opts, gpus, inbox, self._outbox),
                            daemon=False, name=f"ddcf-gen-{name}-{rank}")
            p.start()
            self._inboxes.append(inbox)
            self._procs.append(p)
        self._task = 0
        try:
            for _ in groups:
                self._receive("ready", startup_timeout)
        except BaseException:
            self.close()
            raise

    def _receive(self, kind: str, timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg_kind, rank, payload = self._outbox.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in self._procs if not p.is_alive()]
                if dead:
                    raise RuntimeError(
                        f"data-parallel worker {dead[0].name} exited with code {dead[0].exitcode}"
                    ) from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"data-parallel workers did not answer within {timeout:.0f}s") from None
                continue
            if msg_kind == "ddcf_error":
                raise DDCFError(*payload)
            if msg_kind == "error":
                raise RuntimeError(f"data-parallel worker {rank} failed:\n{payload}")
            if msg_kind != kind:
                raise RuntimeError(f"unexpected message {msg_kind} from worker {rank}")
            return rank, payload

    @property
    def tokenizer(self):
        return self._tok

    @property
    def context_limit(self) -> int | None:
        return self.options.context_length

    def generate(
        self, prompts: Sequence[Prompt], spec: SamplingSpec, seeds: Sequence[int] | None = None
    ) -> list[list[Completion]]:
        dp = len(self._procs)
        parts = [list(range(r, len(prompts), dp)) for r in range(dp)]
        self._task += 1
        sent = 0
        for r, idx in enumerate(parts):
            if not idx:
                continue
            part_seeds = [int(seeds[i]) for i in idx] if seeds is not None else None
            self._inboxes[r].put((self._task, [list(map(int, prompts[i])) for i in idx], spec.to_dict(), part_seeds))
            sent += 1
        results: list[list[Completion] | None] = [None] * len(prompts)
        for _ in range(sent):
            rank, (task_id, rows) = self._receive("result", timeout=float("inf"))
            if task_id != self._task:
                raise RuntimeError("stale result from a data-parallel worker")
            for i, row in zip(parts[rank], rows):
                results[i] = [Completion(**c) for c in row]
        return results  # type: ignore[return-value]

    def info(self) -> dict:
        return {"backend": self.inner_name, "data_parallel_size": len(self._procs)}

    def close(self) -> None:
        for inbox in getattr(self, "_inboxes", []):
            try:
                inbox.put(None)
            except Exception:  # noqa: BLE001
                pass
        for p in getattr(self, "_procs", []):
            p.join(timeout=60)
            if p.is_alive():
                p.terminate()
                p.join(timeout=10)
        self._procs = []
        self._inboxes = []
