"""ddcf.io: stale temp files of killed writes are cleaned up; embedding manifests pin the vectors' content."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from ddcf.embed.cache import EmbeddingCache
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import (
    STALE_TEMP_SECONDS,
    array_sha256,
    load_embeddings,
    manifest_path,
    save_embeddings,
    write_json,
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _age(path, seconds):
    """Make ``path`` (created empty if missing) look last changed ``seconds`` ago."""
    path.touch()
    t = time.time() - seconds
    os.utime(path, (t, t))
    return path


def test_a_killed_atomic_write_leaves_a_temp_file_that_the_next_write_removes(tmp_path):
    target = tmp_path / "out.json"
    # SIGKILL-like: the writer dies inside atomic_path, so its finally clause never runs
    code = ("import os, sys; from ddcf.io import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n    tmp.write_text('half'); os._exit(9)\n")
    subprocess.run([sys.executable, "-c", code, str(target)], check=False)
    [left] = list(tmp_path.glob(".out.json.*.tmp"))
    write_json({"a": 1}, target)
    assert left.exists()  # just written: its writer might still be at work
    _age(left, STALE_TEMP_SECONDS + 60)
    write_json({"a": 2}, target)
    assert not left.exists() and json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_only_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    old, dead, me = STALE_TEMP_SECONDS + 60, _dead_pid(), os.getpid()
    files = {
        "dead writer, old": (f".t.json.{dead}.abcdefgh.tmp", old, False),
        "no pid (old naming), old": (".t.json.abcdefgh.tmp", old, False),
        "suffixed (.npy), dead, old": (f".t.json.{dead}.abcdefgh.tmp.npy", old, False),
        "dead writer, fresh": (f".t.json.{dead}.bcdefghi.tmp", 5, True),  # maybe not stale yet: keep
        "live writer (us), old": (f".t.json.{me}.cdefghij.tmp", old, True),
        "live writer, a day old": (f".t.json.{me}.defghijk.tmp", 25 * 3600, False),
        "another target's": (f".t.json.x.{dead}.abcdefgh.tmp", old, True),
        "not a temp file": (".t.json.notes", old, True),
    }
    for name, age, _ in files.values():
        _age(tmp_path / name, age)
    write_json({}, tmp_path / "t.json")
    for what, (name, _, kept) in files.items():
        assert (tmp_path / name).exists() == kept, what


def test_cache_removes_leftovers_of_killed_chunk_writes(tmp_path):
    cache = EmbeddingCache(tmp_path, "m")
    cache.add(["a"], np.ones((1, 4), dtype=np.float32))
    dead = _dead_pid()
    token = f"{time.time_ns():016x}-{dead}-0123abcd"
    orphan = cache.dir / f"chunk-{token}.npy"  # vectors whose hashes file never came: the writer was killed
    np.save(orphan, np.ones((1, 4), dtype=np.float32))
    _age(orphan, STALE_TEMP_SECONDS + 60)
    temp = cache.dir / f".chunk-{token}.hashes.parquet.{dead}.abcdefgh.tmp"
    _age(temp, STALE_TEMP_SECONDS + 60)
    fresh = cache.dir / f"chunk-{time.time_ns():016x}-{os.getpid()}-0123abce.npy"  # a live writer's, mid-chunk
    np.save(fresh, np.ones((1, 4), dtype=np.float32))
    reread = EmbeddingCache(tmp_path, "m")
    assert len(reread) == 1 and reread.warnings == []
    assert not orphan.exists() and not temp.exists() and fresh.exists()


# --------------------------------------------------------------------------- vectors hash in the manifest
def _save(tmp_path, arr):
    path = tmp_path / "emb.npy"
    save_embeddings(arr, [f"q{i}" for i in range(len(arr))], path, {"embedding_model": "m", "normalized": False})
    return path


def test_manifest_records_the_vectors_hash(tmp_path):
    arr = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    path = _save(tmp_path, arr)
    manifest = json.loads(manifest_path(path).read_text())
    assert manifest["vectors_sha256"] == array_sha256(arr) == array_sha256(np.load(path, mmap_mode="r"), rows=2)
    assert array_sha256(arr[::-1]) != manifest["vectors_sha256"]


def test_replaced_vectors_with_the_same_ids_are_caught(tmp_path):
    arr = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    path = _save(tmp_path, arr)
    np.save(path, arr * 2)  # same shape, same ids: only the content hash can tell
    with pytest.raises(InputMismatchError, match="vectors_sha256"):
        load_embeddings(path)
    with pytest.raises(InputMismatchError, match="vectors_sha256"):
        load_embeddings(path, verify_hash=True, check_finite=False)
    np.testing.assert_array_equal(load_embeddings(path, verify_hash=False)[0], arr * 2)  # when asked not to


def test_large_matrices_skip_the_hash_unless_asked(tmp_path, monkeypatch):
    import ddcf.io as io

    arr = np.ones((4, 2), dtype=np.float32)
    path = _save(tmp_path, arr)
    np.save(path, arr * 3)
    monkeypatch.setattr(io, "VERIFY_HASH_MAX_BYTES", arr.nbytes - 1)
    assert load_embeddings(path)[0].shape == (4, 2)
    with pytest.raises(InputMismatchError):
        load_embeddings(path, verify_hash=True)


def test_old_manifests_without_the_hash_still_load(tmp_path):
    arr = np.ones((2, 2), dtype=np.float32)
    path = _save(tmp_path, arr)
    manifest = json.loads(manifest_path(path).read_text())
    del manifest["vectors_sha256"]
    manifest_path(path).write_text(json.dumps(manifest))
    np.testing.assert_array_equal(load_embeddings(path, verify_hash=True)[0], arr)


def test_write_json_is_strict_json(tmp_path):
    """An undefined metric (NaN/inf) is written as null, never as a bare NaN that strict parsers reject."""
    import json
    import math

    import numpy as np

    from ddcf.io import write_json

    path = write_json({"auc": math.nan, "ece": np.float64("inf"), "runs": [1.0, float("nan")], "ok": 0.5},
                      tmp_path / "m.json")
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"auc": None, "ece": None, "runs": [1.0, None], "ok": 0.5}


def test_blank_text_is_the_one_emptiness_rule():
    """Missing, empty, whitespace-only and zero-width-only cells are blank; real text and numbers are not."""
    import pandas as pd

    from ddcf.io import blank_text

    cells = [None, float("nan"), pd.NA, "", "  \n", "\u200b\ufeff", "x", " 1+1? ", 0, 3.5]
    assert blank_text(pd.Series(cells, dtype=object)).tolist() == [True] * 6 + [False] * 4


# ---------------------------------------------------------------------------- validating side-file reader
@pytest.mark.parametrize("name, data, message", [
    ("c.json", b"[1, 2]", r"holds a list \(\[...\]\) where an object"),
    ("c.json", b"\xff\xfe{}", r"is not UTF-8 text \(byte 0 is 0xff\)"),
    ("c.json", b'{"a": NaN}', "NaN is not a JSON number"),
    ("c.json", b'{"a": 1', "is not valid JSON"),
    ("c.yaml", b"a: [1", "does not parse"),
    ("c.yaml", b"- 1\n", "holds a list"),
    ("c.json", b"", r"is empty \(0 bytes\)"),
])
def test_read_side_file_names_the_file_and_the_fix(tmp_path, name, data, message):
    from ddcf.io import read_side_file

    (tmp_path / name).write_bytes(data)
    with pytest.raises(DDCFError, match=message) as err:
        read_side_file(tmp_path / name, "run config", "rerun the stage.")
    assert str(tmp_path / name) in str(err.value) and "Fix: rerun the stage." in str(err.value)


def test_read_side_file_and_side_value_accept_what_is_right(tmp_path):
    from ddcf.io import read_side_file, side_value

    (tmp_path / "c.json").write_text('{"t": 1.5, "n": 3, "b": true}')
    (tmp_path / "c.yaml").write_text("t: 2\n")
    data = read_side_file(tmp_path / "c.json", "x", "fix")
    assert read_side_file(tmp_path / "c.yaml", "x", "fix") == {"t": 2}
    assert side_value(data, "t", (int, float), "c.json", "x", "fix") == 1.5
    with pytest.raises(DDCFError, match="'b' = 'True', which is true/false, where an integer or a number"):
        side_value(data, "b", (int, float), "c.json", "x", "fix")
    with pytest.raises(DDCFError, match="has no 'z'"):
        side_value(data, "z", str, "c.json", "x", "fix")
    assert side_value(data, "z", str, "c.json", "x", "fix", required=False) is None
