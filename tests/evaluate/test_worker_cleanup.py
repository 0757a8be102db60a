"""Issue 25: after a kill -9 of an evaluation, its math-verify worker processes (ddcf.verify.workers, used by the
evaluation's graders) must not stay alive for seconds: each worker watches its parent's pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

PARENT = """
import sys, time
from ddcf.verify.workers import MathVerifyWorkers as MathVerifyPool
pool = MathVerifyPool(workers=2, timeout=5)
pool._fill()  # spawn the workers (they now import sympy and math-verify, then warm up: seconds)
print(" ".join(str(w.proc.pid) for w in pool._procs), flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, just not reaped yet
    except FileNotFoundError:
        return False


def test_workers_leave_within_a_second_of_a_kill_9_of_their_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 3 and all(_alive(p) for p in pids)  # 2 workers + the spare, still starting up
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 1.0  # the imports and warm-up alone take longer than this
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    left = [p for p in pids if _alive(p)]
    for p in left:  # do not leak them into the rest of the test session
        os.kill(p, signal.SIGKILL)
    assert not left, f"worker(s) {left} still alive 1 s after their parent was killed"
