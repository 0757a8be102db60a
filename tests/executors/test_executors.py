"""The executors on a toy job: local and Ray write the same files, resume each other, and a worker killed
mid-shard costs that shard only (run again once, never twice)."""

import pytest
from conftest import require_ray
from jobs_for_tests import SquareJob, writes

from ddcf.errors import DDCFError
from ddcf.executors import LocalExecutor, get_executor
from ddcf.executors.options import ExecutorOptions
from ddcf.runtime import MissingDependencyError


def _files(d):
    return {p.name: p.read_bytes() for p in sorted(d.glob("shard-*.json"))}


def test_local_runs_pending_shards_only(tmp_path):
    job = SquareJob(tmp_path, 5)
    s = LocalExecutor().run(job, progress=False)
    assert (s.n_shards, s.n_skipped, s.n_computed) == (5, 0, 5)
    assert sorted(writes(tmp_path / "writes.log")) == ["0", "1", "2", "3", "4"]
    (tmp_path / "shard-002.done").unlink()  # as if shard 2 had been killed before its marker
    s = LocalExecutor().run(job, progress=False)
    assert (s.n_skipped, s.n_computed) == (4, 1)
    assert sorted(writes(tmp_path / "writes.log")) == ["0", "1", "2", "2", "3", "4"]
    assert "1 of 5 shard(s) computed now, 4 already finished" in s.lines("n")[0]
    assert any(line.strip().startswith("node ") for line in s.lines("n"))


def test_options_are_run_only():
    assert {"executor", "ray_address"} <= set(ExecutorOptions.RUN_ONLY)
    assert "executor" not in ExecutorOptions(executor="ray").to_dict(include_run_only=False)


def test_missing_ray_is_a_clear_error(monkeypatch):
    import ddcf.executors.ray as ray_mod

    monkeypatch.setattr(ray_mod, "require", lambda *a: (_ for _ in ()).throw(
        MissingDependencyError("--executor ray needs 'ray'.", 'pip install -e ".[ray]"')))
    with pytest.raises(MissingDependencyError, match=r"\[ray\]"):
        get_executor("ray")


@require_ray
def test_ray_matches_local_and_resumes_it(tmp_path, ray_instance):
    local, remote = tmp_path / "local", tmp_path / "ray"
    LocalExecutor().run(SquareJob(local, 6), progress=False)
    # A Ray run after a local run that finished shards 0-2: only 3-5 run.
    remote.mkdir()
    LocalExecutor().run(SquareJob(remote, 3), progress=False)
    s = get_executor("ray").run(SquareJob(remote, 6), progress=False)
    assert (s.n_skipped, s.n_computed) == (3, 3)
    assert _files(remote) == _files(local)
    assert sorted(writes(remote / "writes.log")) == ["0", "1", "2", "3", "4", "5"]


@require_ray
def test_ray_worker_killed_mid_shard_is_retried_once(tmp_path, ray_instance):
    s = get_executor("ray").run(SquareJob(tmp_path, 6, die_on=3), progress=False)
    assert s.n_retried == 1 and s.n_computed == 6
    assert sorted(writes(tmp_path / "writes.log")) == ["0", "1", "2", "3", "4", "5"]  # no shard written twice
    assert (tmp_path / "died-3").exists()


@require_ray
def test_ray_lost_shard_then_rerun_completes(tmp_path, ray_instance):
    job = SquareJob(tmp_path, 6, die_on=4)
    with pytest.raises(DDCFError, match="Shard 4 of squares was lost with its Ray worker"):
        get_executor("ray", max_retries=0).run(job, progress=False)
    done_before = sorted(writes(tmp_path / "writes.log"))
    assert "4" not in done_before
    s = get_executor("ray").run(job, progress=False)
    assert s.n_retried == 0 and s.n_skipped + s.n_computed == 6
    assert sorted(writes(tmp_path / "writes.log")) == ["0", "1", "2", "3", "4", "5"]  # none redone
    ref = tmp_path / "ref"
    LocalExecutor().run(SquareJob(ref, 6), progress=False)
    assert _files(tmp_path) == _files(ref)


@require_ray
def test_ray_user_error_is_one_paragraph(tmp_path, ray_instance):
    with pytest.raises(DDCFError, match="shard 2 cannot be computed"):
        get_executor("ray").run(SquareJob(tmp_path, 4, fail_on=2), progress=False)


@require_ray
def test_ray_worker_that_cannot_start_is_not_retried(tmp_path, ray_instance):
    from jobs_for_tests import BrokenOpenJob

    with pytest.raises(DDCFError, match="A Ray worker could not start the squares job: no model at /nowhere"):
        get_executor("ray").run(BrokenOpenJob(tmp_path, 3), progress=False)


def test_an_unreachable_ray_address_is_refused_in_seconds():
    """ray.init retries an unreachable head for minutes; a host:port nobody listens on is one clear paragraph."""
    import socket
    import time

    from ddcf.executors.ray import check_reachable

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    t0 = time.perf_counter()
    with pytest.raises(DDCFError, match=rf"--ray_address 127.0.0.1:{port}: nothing answers"):
        check_reachable(f"127.0.0.1:{port}", timeout=2.0)
    assert time.perf_counter() - t0 < 5
    check_reachable("auto")  # names Ray resolves itself are left to it
    check_reachable(None)
    with socket.socket() as live:
        live.bind(("127.0.0.1", 0))
        live.listen()
        check_reachable(f"ray://127.0.0.1:{live.getsockname()[1]}")
