"""The hard per-pair time limit: pathological answers must come back as "not verified" in time."""

import threading
import time

import pytest

from ddcf.verify.workers import MathVerifyWorkers

LIMIT = 2.0
SLACK = 1.5  # process scheduling on a loaded 2-core box

POWER_TOWER = "9^{9^{9^{9^{9}}}}"
HUGE = "+".join(f"x_{{{i}}}^{{{i % 7}}}" for i in range(1500))[:10_000]  # a 10,000-character "answer"
NESTED = "\\frac{1}{" * 300 + "2" + "}" * 300  # deeply nested LaTeX
MALFORMED = "\\boxed{\\frac{1}{2" + "{" * 50
PATHOLOGICAL = [POWER_TOWER, HUGE, NESTED, MALFORMED]
NORMAL = [("\\sqrt{12}", "2\\sqrt{3}"), ("\\frac{\\pi}{2}", "\\pi/2")]


@pytest.fixture(scope="module")
def pool():
    with MathVerifyWorkers(workers=2, timeout=LIMIT, batch_size=2, spare=1) as p:
        # Wait for the workers to be up so that start-up time is not charged to any pair.
        assert p.run([("1", "1")])[0].correct
        yield p


def test_pathological_inputs_return_within_the_limit(pool):
    assert len(HUGE) == 10_000
    pairs = [(p, "5") for p in PATHOLOGICAL] + NORMAL
    t0 = time.monotonic()
    out = pool.run(pairs)
    wall = time.monotonic() - t0
    assert len(out) == len(pairs) and all(o is not None for o in out)
    for p, o in zip(PATHOLOGICAL, out):
        assert o.correct is False, p[:40]
        assert o.status in ("ok", "timeout", "error")
        assert o.seconds <= LIMIT + SLACK, (p[:40], o.seconds)
    assert out[0].status == "timeout"  # the power tower cannot be evaluated in 2 s
    # the run went on: the ordinary pairs after them were verified
    assert [(o.correct, o.status) for o in out[len(PATHOLOGICAL) :]] == [(True, "ok"), (True, "ok")]
    # 4 pathological pairs on 2 workers: at most two rounds of the limit, plus slack
    assert wall <= 2 * (LIMIT + SLACK) + 3


def test_hard_kill_when_the_soft_limit_does_not_fire(pool):
    # Simulate sympy spinning in C code where SIGALRM is never delivered: push the in-worker soft limit
    # past the hard one, so only killing the process can end the pair.
    kills = pool.kills
    pool.soft_timeout = 60.0
    try:
        out = pool.run([(POWER_TOWER, "5")] + NORMAL)
    finally:
        pool.soft_timeout = 0.8 * pool.timeout
    assert pool.kills == kills + 1
    assert (out[0].correct, out[0].status) == (False, "timeout")
    assert out[0].seconds <= LIMIT + SLACK
    assert [(o.correct, o.status) for o in out[1:]] == [(True, "ok"), (True, "ok")]


def test_worker_crash_is_an_error_and_the_run_continues(pool):
    crashes = pool.crashes
    pool.soft_timeout = 60.0
    old_timeout, pool.timeout = pool.timeout, 30.0

    def kill_busy_worker():
        for w in list(pool._procs):
            if w.busy and w.batch[w.pos] == 0:  # the worker holding the slow pair
                w.proc.kill()

    timer = threading.Timer(1.0, kill_busy_worker)
    timer.start()
    try:
        out = pool.run([(POWER_TOWER, "5")] + NORMAL)
    finally:
        timer.cancel()
        pool.timeout, pool.soft_timeout = old_timeout, 0.8 * old_timeout
    assert pool.crashes == crashes + 1
    assert (out[0].correct, out[0].status) == (False, "error")
    assert [(o.correct, o.status) for o in out[1:]] == [(True, "ok"), (True, "ok")]


@pytest.mark.parametrize("bad", [0, -1.5])
def test_pool_rejects_non_positive_timeout(bad):
    with pytest.raises(ValueError):
        MathVerifyWorkers(workers=1, timeout=bad)
