"""The worker-process side of ddcf.verify.workers: ``python <path>/_worker.py``.

Run by path, not as ``-m ddcf...``, so a worker imports only the standard
library and math-verify (not pandas via the package).

Protocol (JSON lines, no pickle):

* worker -> parent, once: ``{"ready": <pid>}`` after math-verify is imported;
* parent -> worker: one line per batch, ``[[idx, pred, gold, soft_limit_s], ...]``;
* worker -> parent: one line per finished pair, ``[idx, correct, status, seconds]``;
* the parent closes stdin to stop the worker.

The protocol runs on a private copy of the original stdout; fd 1 is pointed at
stderr so a stray ``print`` inside sympy cannot corrupt it.

Inside a worker each pair gets a *soft* limit (``setitimer`` raising a
``BaseException`` so math-verify's ``except Exception`` blocks cannot swallow
it).  The soft limit is not trusted: sympy can spin in C code where no signal
is delivered, so the parent also kills the whole process at the hard limit.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    # Run by path, Python put this folder first on sys.path: our module names (cache, pool, ...)
    # must not shadow anything sympy or math-verify import.
    sys.path.pop(0)

import json
import logging
import signal
import time
import warnings
from functools import lru_cache


class SoftTimeout(BaseException):
    """Raised by SIGALRM inside a worker when a pair exceeds its soft limit."""


def _on_alarm(signum, frame):
    raise SoftTimeout()


def wrap_for_parse(s: str) -> str:
    """math-verify extracts LaTeX from delimiters; a bare answer gets ``$...$`` around it."""
    if "$" in s or "\\(" in s or "\\[" in s or "\\boxed" in s:
        return s
    return f"${s}$"


@lru_cache(maxsize=8192)
def _parse_gold(gold: str):
    from math_verify import parse

    # Golds repeat across models: parse each once per worker.
    return parse(wrap_for_parse(gold), parsing_timeout=None)


def check_pair(pred: str, gold: str) -> bool:
    """math-verify's verdict for one (prediction, gold) pair, without any time limit."""
    from math_verify import parse, verify

    g = _parse_gold(gold)
    if not g:
        return False
    p = parse(wrap_for_parse(pred), parsing_timeout=None)
    if not p:
        return False
    return bool(verify(g, p, timeout_seconds=None))


def run_pair(pred: str, gold: str, soft_limit: float, check=None) -> tuple[bool, str]:
    """(correct, status) with status 'ok' | 'timeout' | 'error'."""
    try:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, max(float(soft_limit), 0.01))
        try:
            return (check or check_pair)(pred, gold), "ok"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except SoftTimeout:
        return False, "timeout"
    except Exception:  # noqa: BLE001 - any failure inside sympy (incl. RecursionError) is "not verified"
        return False, "error"


def _quiet() -> None:
    # math-verify warns once per process that its own timeouts are off: we time out ourselves.
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")


def _exit_with_parent() -> None:
    """A parent killed with SIGKILL cannot stop its workers, and a worker notices the closed stdin only after its
    imports or its current pair (seconds): poll the parent's pid and leave at once when it is gone."""
    import threading

    # the pool names its pid: a parent killed before this line ran would otherwise never be noticed
    parent = int(os.environ.get("DDCF_POOL_PARENT") or os.getppid())

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> int:
    _exit_with_parent()  # before the slow imports below
    sys.stdin.reconfigure(encoding="utf-8", errors="surrogateescape")
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to stderr, never into the protocol
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    # Deeply nested LaTeX recurses deeply in the ANTLR parser; a RecursionError is a clean "error".
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    _quiet()
    import math_verify  # noqa: F401  (import before announcing readiness)

    check = None
    if "--check=reference" in sys.argv[1:]:  # the released grader's semantics (ddcf.verify.reference)
        from ddcf.verify.reference.symbolic import check_pair as check

    # The first parse/verify in a process builds the LaTeX parser and sympy caches (about a second);
    # do it now so that cost is never charged to, or times out, a real pair.
    for warm_pred, warm_gold in (("\\frac{1}{2}", "0.5"), ("x \\in [1, 2)", "(1,2)"), ("-(1+\\sqrt5)/2", "-2"),
                                 ("\\sin(\\pi/6)+x", "y=1")):
        run_pair(warm_pred, warm_gold, 30.0, check)
    _parse_gold.cache_clear()
    proto.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        for idx, pred, gold, soft in json.loads(line):
            t0 = time.perf_counter()
            correct, status = run_pair(pred, gold, soft, check)
            try:
                proto.write(json.dumps([idx, correct, status, time.perf_counter() - t0]) + "\n")
            except (BrokenPipeError, OSError):
                return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
