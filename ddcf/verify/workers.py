"""Killable math-verify worker processes with a hard per-pair time limit.

(Named workers, not pool: in ddcf a pool is the set of questions a selector picks from, ddcf.select.pools.)

Why not ``multiprocessing.Pool`` / ``concurrent.futures``: neither can kill the
one task that hangs.  math-verify's own signal timeouts do not hold when sympy
spins inside C code, so the only limit that always holds is killing the
process.  Here each worker gets small batches and reports every pair as it
finishes it, so the parent always knows which pair is running and since when.
A pair that outlives its hard deadline gets its worker SIGKILLed; the pair is
marked ``timeout``, the rest of that batch goes back to the queue.

Workers are plain subprocesses (``python _worker.py``) speaking JSON lines over
pipes: no pickle, and no re-import of the caller's ``__main__`` script (which
``multiprocessing``'s spawn/forkserver do).  A worker takes about a second to
import sympy, so the pool keeps one *spare* ready worker: a kill swaps the spare
in at once and a new spare starts in the background.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Sequence

from ddcf.errors import DDCFError
from ddcf.runtime import usable_cores
from ddcf.verify.config import DEFAULT_TIMEOUT_S

_WORKER_SCRIPT = Path(__file__).with_name("_worker.py")
_START_TIMEOUT_S = 180.0


@dataclass
class PairOutcome:
    correct: bool
    status: str  # 'ok' | 'timeout' | 'error'
    seconds: float


@dataclass(eq=False)  # identity semantics: workers are compared with `is`
class _Worker:
    proc: subprocess.Popen
    started: float
    ready: bool = False
    buf: bytes = b""
    batch: list = field(default_factory=list)
    pos: int = 0
    item_start: float = 0.0

    @property
    def busy(self) -> bool:
        return self.pos < len(self.batch)

    @property
    def fd(self) -> int:
        return self.proc.stdout.fileno()


def default_workers() -> int:
    """One math-verify worker per core this process may use."""
    return usable_cores()


class WorkerStartError(DDCFError):
    """A worker process could not start: usually math-verify missing from this Python environment."""


class MathVerifyWorkers:
    """Check (prediction, gold) pairs with math-verify in ``workers`` processes, ``timeout`` seconds per pair.

    ``timeout`` is the hard limit (the worker is killed when a pair runs that
    long); math-verify gets a soft limit of 80% of it inside the worker, so most
    slow pairs end without a kill.
    """

    def __init__(
        self, workers: int | None = None, timeout: float = DEFAULT_TIMEOUT_S, batch_size: int = 16, spare: int = 1,
        check: str = "math-verify",
    ):
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self.n_workers = max(1, int(workers or default_workers()))
        self.timeout = float(timeout)
        self.soft_timeout = 0.8 * self.timeout
        self.batch_size = max(1, int(batch_size))
        self.spare = max(0, int(spare))
        self.check = check  # 'math-verify' or 'reference' (the released grader, ddcf.verify.reference)
        self._procs: list[_Worker] = []
        self.kills = 0
        self.crashes = 0
        self.started = 0

    # ------------------------------------------------------------------ process management
    def _spawn(self) -> _Worker:
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", DDCF_POOL_PARENT=str(os.getpid()))
        proc = subprocess.Popen(
            [sys.executable, "-u", str(_WORKER_SCRIPT), f"--check={self.check}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            env=env,
            close_fds=True,
        )
        self.started += 1
        return _Worker(proc=proc, started=time.monotonic())

    def _fill(self) -> None:
        while len(self._procs) < self.n_workers + self.spare:
            self._procs.append(self._spawn())

    def _stop(self, w: _Worker, kill: bool) -> None:
        try:
            if kill:
                w.proc.kill()
            elif not w.proc.stdin.closed:
                w.proc.stdin.close()
            w.proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError, ValueError):
            w.proc.kill()
            try:
                w.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        for f in (w.proc.stdin, w.proc.stdout):
            try:
                f.close()
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        # Tell every worker first, then wait: they shut down in parallel, not one after another.
        for w in self._procs:
            try:
                if w.busy or not w.ready:
                    w.proc.kill()
                else:
                    w.proc.stdin.close()
            except (OSError, ValueError):
                pass
        for w in self._procs:
            self._stop(w, kill=False)
        self._procs = []

    def __enter__(self) -> "MathVerifyWorkers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: anything may be half torn down
            pass

    def _read_lines(self, w: _Worker) -> list | None:
        """Parsed protocol lines available from ``w``; ``None`` when it exited."""
        try:
            chunk = os.read(w.fd, 1 << 16)
        except OSError:
            chunk = b""
        if not chunk:
            return None
        w.buf += chunk
        *lines, w.buf = w.buf.split(b"\n")
        return [json.loads(x) for x in lines if x.strip()]

    # ------------------------------------------------------------------ work
    def run(
        self,
        pairs: Sequence[tuple[str, str]],
        on_result: Callable[[int, PairOutcome], None] | None = None,
    ) -> list[PairOutcome]:
        """Check every ``(pred, gold)`` pair; results come back in input order."""
        n = len(pairs)
        results: list[PairOutcome | None] = [None] * n
        if n == 0:
            return []
        self._fill()
        pending: deque[int] = deque(range(n))
        remaining = n

        def finish(idx: int, outcome: PairOutcome) -> None:
            nonlocal remaining
            if results[idx] is None:
                results[idx] = outcome
                remaining -= 1
                if on_result is not None:
                    on_result(idx, outcome)

        def assign(w: _Worker) -> None:
            w.batch, w.pos = [], 0
            if not pending:
                return
            # Smaller batches near the end keep every worker busy until the last pair.
            size = max(1, min(self.batch_size, -(-len(pending) // (2 * self.n_workers))))
            idxs = [pending.popleft() for _ in range(min(size, len(pending)))]
            payload = [[i, pairs[i][0], pairs[i][1], self.soft_timeout] for i in idxs]
            try:
                w.proc.stdin.write((json.dumps(payload) + "\n").encode("ascii"))
                w.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pending.extendleft(reversed(idxs))
                lose(w, "error")
                return
            w.batch, w.item_start = idxs, time.monotonic()

        def lose(w: _Worker, status: str) -> None:
            # The pair in flight dies with the worker; the rest of its batch is requeued.
            if w.busy:
                finish(w.batch[w.pos], PairOutcome(False, status, time.monotonic() - w.item_start))
                pending.extendleft(reversed(w.batch[w.pos + 1 :]))
            w.batch, w.pos = [], 0
            self._stop(w, kill=True)
            self._procs.remove(w)
            self._procs.append(self._spawn())

        def dispatch() -> None:
            busy = sum(1 for w in self._procs if w.busy)
            for w in self._procs:
                if busy >= self.n_workers or not pending:
                    break
                if w.ready and not w.busy:
                    assign(w)
                    busy += w.busy

        dispatch()
        while remaining > 0:
            now = time.monotonic()
            for w in self._procs:
                if not w.ready and now - w.started > _START_TIMEOUT_S:
                    raise WorkerStartError(
                        f"A math-verify worker process ({sys.executable} {_WORKER_SCRIPT}) did not start "
                        f"within {_START_TIMEOUT_S:.0f} s.",
                        "check that the machine is not out of memory or CPU, then run again (finished work is "
                        "kept in the verify cache).",
                    )
            deadlines = [w.item_start + self.timeout for w in self._procs if w.busy]
            wait_s = max(0.0, min(deadlines) - now) if deadlines else 1.0
            ready_fds = set(wait([w.fd for w in self._procs], timeout=wait_s))
            for w in list(self._procs):
                if w.fd not in ready_fds:
                    continue
                msgs = self._read_lines(w)
                if msgs is None:  # the worker died (crash, OOM kill, import failure)
                    if not w.ready:
                        raise WorkerStartError(
                            f"A math-verify worker process exited while starting (exit code {w.proc.poll()}; "
                            "its error message is printed above).",
                            f"install the pinned math-verify into this Python environment ({sys.executable} -m "
                            "pip install -r requirements.txt).",
                        )
                    self.crashes += 1
                    lose(w, "error")
                    continue
                for msg in msgs:
                    if isinstance(msg, dict):  # {"ready": pid}
                        w.ready = True
                        continue
                    idx, correct, status, secs = msg
                    finish(int(idx), PairOutcome(bool(correct), str(status), float(secs)))
                    w.pos += 1
                    w.item_start = time.monotonic()
            now = time.monotonic()
            for w in list(self._procs):
                if w.busy and now - w.item_start >= self.timeout:
                    self.kills += 1
                    lose(w, "timeout")
            dispatch()
        return results  # type: ignore[return-value]
