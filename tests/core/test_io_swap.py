"""The one folder swap (ddcf.io.atomic_dir): umask modes and kill recovery, for every folder that uses it."""

import os
import stat
import sys
from pathlib import Path

import pytest

from ddcf import io

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "select"))
from helpers_select import write_layout

MODEL = "org/Target-7B"


class Kill(BaseException):
    """A SIGKILL: no except/finally clean-up of ours runs (BaseException passes `except Exception`)."""


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def select(layout, *extra):
    from ddcf.select.cli import main

    assert main(["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", "--num_select", "6",
                 *extra]) == 0
    return layout.selection_dir(MODEL, 0.2, 6)


def report(layout, sel, out):
    from ddcf.report.cli import main

    assert main(["--workdir", str(layout.root), "--projection", "tsne", "--no_progress", "--sweep_points", "0",
                 "--output_dir", str(out), str(sel)]) == 0
    return out


def push(layout):
    from ddcf.push.cli import command

    assert command.main(["selection", "--workdir", str(layout.root), "--repo_id", "me/sel", "--model_name", MODEL,
                         "--num_select", "6", "--dry_run", "--no_progress"]) == 0
    return layout.push_dir("selection", "me/sel")


# ---------------------------------------------------------------------------- the swap itself
def test_swap_replaces_whole_and_takes_the_umask_mode(tmp_path, umask022):
    target = tmp_path / "out"
    with io.atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    assert mode(target) == 0o755 and (target / "a").read_text() == "1"
    with io.atomic_dir(target) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]  # never a mix of two runs' files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    old = os.umask(0o077)
    try:
        with io.atomic_dir(target) as tmp:
            pass
        assert mode(target) == 0o700  # the umask's mode, whatever it is
    finally:
        os.umask(old)


def test_an_error_in_the_writer_leaves_the_old_folder(tmp_path):
    target = tmp_path / "out"
    with io.atomic_dir(target) as tmp:
        (tmp / "a").write_text("old")
    with pytest.raises(ValueError), io.atomic_dir(target) as tmp:
        (tmp / "a").write_text("new")
        raise ValueError("boom")
    assert (target / "a").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_kill_between_the_renames_is_undone_by_the_next_swap(tmp_path, monkeypatch):
    target = tmp_path / "out"
    with io.atomic_dir(target) as tmp:
        (tmp / "a").write_text("old")
    real = os.replace

    def killed(src, dst):
        if Path(dst) == target:  # the second rename: new folder in
            raise Kill
        return real(src, dst)

    monkeypatch.setattr(io.os, "replace", killed)
    with pytest.raises(Kill), io.atomic_dir(target) as tmp:
        (tmp / "a").write_text("new")
    monkeypatch.undo()
    assert not target.exists() and io.current_dir(target) == io.set_aside_dir(target)
    assert (io.current_dir(target) / "a").read_text() == "old"  # readers see the set-aside folder
    io.recover_dir(target)  # the next call puts it back and deletes the dead writer's staging folder ...
    assert (target / "a").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_staging_folders_of_dead_writers_go_those_of_live_ones_stay(tmp_path):
    target = tmp_path / "out"
    dead = tmp_path / ".out.new-999999999-abc"  # no such pid
    live = tmp_path / f".out.new-{os.getppid()}-abc"  # a live process other than us
    dead.mkdir()
    live.mkdir()
    with io.atomic_dir(target):
        pass
    assert not dead.exists() and live.exists()


# ---------------------------------------------------------------------------- every caller
def test_modes_under_umask_022(layout, tmp_path, umask022):
    write_layout(layout, n=30)
    sel = select(layout)
    assert mode(sel) == 0o755 and mode(sel / "dataset") == 0o755
    assert mode(sel / "selection.parquet") == 0o644
    rep = report(layout, sel, tmp_path / "rep")
    assert mode(rep) == 0o755
    staged = push(layout)
    assert mode(staged) == 0o755
    for folder in (sel, rep, staged):  # nothing left beside them
        assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_select_config_has_one_writer(layout, monkeypatch):
    import ddcf.config as config_mod
    import ddcf.pipeline as pipeline_mod
    import ddcf.select.stage as stage_mod

    write_layout(layout, n=30)
    written = []
    real = config_mod.write_resolved_config

    def counting(config, path, *args, **kwargs):
        written.append(Path(path).name)
        return real(config, path, *args, **kwargs)

    monkeypatch.setattr(stage_mod, "write_resolved_config", counting)
    monkeypatch.setattr(pipeline_mod, "write_resolved_config", counting)
    sel = select(layout)
    assert written == ["select.config.yaml"] and (sel / "select.config.yaml").is_file()


@pytest.mark.parametrize("what", ["selection", "report"])
def test_a_kill_between_the_renames_is_undone(layout, tmp_path, monkeypatch, what):
    """A kill after the old folder was set aside and before the new one is in: readers see the old one, and the
    next run of the stage puts it back first, then completes."""
    write_layout(layout, n=30, seed=0)
    sel = select(layout)
    out = sel if what == "selection" else report(layout, sel, tmp_path / "rep")
    before = (out / "report.json").read_text()
    write_layout(layout, n=30, seed=5)  # other inputs, so other picks and another report
    real = os.replace

    def killed(src, dst):
        if Path(dst) == out and Path(src).name.startswith(f".{out.name}.new-"):
            raise Kill
        return real(src, dst)

    monkeypatch.setattr(io.os, "replace", killed)
    with pytest.raises(Kill):
        select(layout) if what == "selection" else report(layout, sel, out)
    monkeypatch.undo()
    assert not out.exists() and (io.current_dir(out) / "report.json").read_text() == before
    select(layout) if what == "selection" else report(layout, sel, out)
    assert (out / "report.json").read_text() != before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")] == []
