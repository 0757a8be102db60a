"""Nothing lost, nothing silently wrong in stage 3: concurrent writers, damaged chunks, kills, --overwrite."""

import os
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pandas as pd
import pytest
from test_embed_stage import SPEC, FakeEncoder

from ddcf.embed.cache import DAMAGED_DIR, EmbeddingCache
from ddcf.embed.config import EmbedConfig
from ddcf.embed.stage import embed_tables
from ddcf.errors import DDCFError
from ddcf.io import load_embeddings, text_hash, write_parquet


def _vec(text, dim=4):
    return np.random.default_rng(int(text_hash(text)[:8], 16)).normal(size=dim).astype(np.float32)


def _write_chunks(root, texts, per_chunk, barrier=None):
    """One writer: a cache opened before the other writer wrote anything, then several chunks."""
    cache = EmbeddingCache(root, "org/m")
    if barrier is not None:
        barrier.wait()  # both writers have opened the cache: each believes it is empty
    for i in range(0, len(texts), per_chunk):
        part = texts[i : i + per_chunk]
        cache.add([text_hash(t) for t in part], np.stack([_vec(t) for t in part]))
    return len(texts)


def _assert_all_present(root, texts):
    cache = EmbeddingCache(root, "org/m")
    assert len(cache) == len(texts) and cache.warnings == []
    np.testing.assert_array_equal(cache.gather([text_hash(t) for t in texts]), np.stack([_vec(t) for t in texts]))


def test_two_concurrent_writers_keep_every_vector_threads(tmp_path):
    a = [f"writer A text {i}" for i in range(300)]
    b = [f"writer B text {i}" for i in range(300)]
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_write_chunks, args=(tmp_path, texts, 50, barrier)) for texts in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _assert_all_present(tmp_path, a + b)


def test_two_concurrent_writers_keep_every_vector_processes(tmp_path):
    a = [f"process A text {i}" for i in range(300)]
    b = [f"process B text {i}" for i in range(300)]
    with ProcessPoolExecutor(2, mp_context=get_context("fork")) as pool:
        assert sum(pool.map(_write_chunks, [tmp_path, tmp_path], [a, b], [30, 30])) == 600
    _assert_all_present(tmp_path, a + b)


# --------------------------------------------------------------------------- damaged chunks
def _tables(layout, n=12):
    seed = pd.DataFrame({"question_id": [f"s{i}" for i in range(n)], "question": [f"q {i:03d}" for i in range(n)]})
    write_parquet(seed, layout.seed_questions)
    return seed


def _truncate(npy, hashes):
    npy.write_bytes(npy.read_bytes()[:100])


def _garbage(npy, hashes):
    npy.write_bytes(b"\x93NUMPY\x09\x00" + os.urandom(200))  # numpy: "we only support format version (1,0)..."


def _wrong_rows(npy, hashes):
    np.save(npy, np.zeros((1, 8), dtype=np.float32))


def _flipped_values(npy, hashes):  # same shape, other values: only the recorded SHA-256 tells
    arr = np.load(npy)
    np.save(npy, arr[::-1].copy())


def _bad_parquet(npy, hashes):
    hashes.write_bytes(b"PAR1 not really parquet")


def _no_vectors(npy, hashes):
    npy.unlink()


@pytest.mark.parametrize("damage", [_truncate, _garbage, _wrong_rows, _flipped_values, _bad_parquet, _no_vectors])
def test_damaged_chunk_is_set_aside_and_recomputed(layout, damage):
    _tables(layout)
    embed_tables(layout, which=("seed",), spec=SPEC, encoder=FakeEncoder(), shard_size=4, progress=False)
    before = np.asarray(load_embeddings(layout.seed_embeddings)[0]).copy()
    cache = EmbeddingCache(layout.embedding_shards, SPEC.name)
    key, hashes, _ = list(cache.chunks())[1]
    npy, hpath = cache._chunk_paths(key)
    damage(npy, hpath)

    enc = FakeEncoder()
    [res] = embed_tables(layout, which=("seed",), spec=SPEC, encoder=enc, shard_size=4, progress=False)
    assert sorted(text_hash(t) for t in enc.seen) == sorted(hashes)  # exactly the damaged chunk's texts
    [warning] = res.stats.warnings
    assert npy.name in warning and "damaged" in warning and "embedded again" in warning
    assert not npy.exists() and not hpath.exists()  # set aside, not left to fail again
    assert any((cache.dir / DAMAGED_DIR).iterdir())
    np.testing.assert_array_equal(np.asarray(load_embeddings(layout.seed_embeddings)[0]), before)
    # the next run finds a clean cache
    enc = FakeEncoder()
    [res] = embed_tables(layout, which=("seed",), spec=SPEC, encoder=enc, shard_size=4, progress=False)
    assert enc.seen == [] and res.stats.warnings == []


def test_damaged_chunk_is_a_warning_of_the_stage_report(layout, monkeypatch, capsys):
    from ddcf.embed import stage as embed_stage
    from ddcf.embed.cli import main

    monkeypatch.setattr(embed_stage, "resolve_model", lambda name, device: SPEC)
    monkeypatch.setattr(embed_stage, "load_sentence_transformer", lambda spec: FakeEncoder())
    _tables(layout)
    argv = ["--workdir", str(layout.root), "--which", "seed", "--shard_size", "4", "--no_progress"]
    assert main(argv) == 0
    cache = EmbeddingCache(layout.embedding_shards, SPEC.name)
    npy = cache._chunk_paths(cache.keys()[0])[0]
    _garbage(npy, None)
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "warning: embedding-cache chunk" in out and npy.name in out and "embedded now 4" in out


def test_legacy_chunk_with_wrong_row_count_is_reported(tmp_path):
    """A numbered chunk (the shipped format, no recorded SHA-256) whose files disagree is damaged, not used."""
    cache = EmbeddingCache(tmp_path, "m")
    cache.add(["a", "b"], np.ones((2, 4), dtype=np.float16), chunk=0)
    np.save(cache._chunk_paths(0)[0], np.ones((3, 4), dtype=np.float16))
    reread = EmbeddingCache(tmp_path, "m", quarantine=False)  # read-only: reported and skipped, not moved
    assert len(reread) == 0 and "3 rows" in reread.warnings[0] and cache._chunk_paths(0)[0].exists()


# --------------------------------------------------------------------------- kills
def test_kill_inside_the_first_shard_keeps_the_finished_batches(layout):
    _tables(layout, n=20)
    # default shard_size (2,048 texts): only the time limit flushes; a tiny one flushes after every batch
    with pytest.raises(KeyboardInterrupt):
        embed_tables(layout, which=("seed",), spec=SPEC, encoder=FakeEncoder(fail_after_calls=3), batch_size=2,
                     shard_seconds=1e-9, progress=False)
    assert len(EmbeddingCache(layout.embedding_shards, SPEC.name)) == 6
    enc = FakeEncoder()
    embed_tables(layout, which=("seed",), spec=SPEC, encoder=enc, batch_size=2, progress=False)
    assert len(enc.seen) == 14  # only the rest


def test_killed_overwrite_keeps_the_old_vectors(layout):
    seed = _tables(layout)
    embed_tables(layout, which=("seed",), spec=SPEC, encoder=FakeEncoder(), shard_size=4, progress=False)
    old = np.asarray(load_embeddings(layout.seed_embeddings)[0]).copy()
    old_chunks = EmbeddingCache(layout.embedding_shards, SPEC.name).keys()

    class Other(FakeEncoder):  # a "new" model version: other vectors for the same texts
        def encode(self, texts, **kw):
            return -super().encode(texts, **kw)

    with pytest.raises(KeyboardInterrupt):
        embed_tables(layout, which=("seed",), spec=SPEC, encoder=Other(fail_after_calls=1), shard_size=4,
                     overwrite=True, progress=False)
    cache = EmbeddingCache(layout.embedding_shards, SPEC.name)
    hashes = [text_hash(t) for t in seed.question]
    assert all(h in cache for h in hashes) and set(old_chunks) <= set(cache.keys())
    got = cache.gather(hashes)
    assert all(np.array_equal(g, o) or np.array_equal(g, -o) for g, o in zip(got, old))

    enc = Other()
    embed_tables(layout, which=("seed",), spec=SPEC, encoder=enc, shard_size=4, overwrite=True, progress=False)
    assert len(enc.seen) == len(seed)
    np.testing.assert_array_equal(np.asarray(load_embeddings(layout.seed_embeddings)[0]), -old)
    cache = EmbeddingCache(layout.embedding_shards, SPEC.name)
    assert not set(old_chunks) & set(cache.keys()) and len(cache) == len(seed)  # old chunks dropped at the end


def test_shard_seconds_must_be_positive():
    with pytest.raises(DDCFError, match="shard_seconds"):
        EmbedConfig(shard_seconds=0).validate()


# --------------------------------------------------------------------------- empty texts
def test_empty_and_invisible_texts_are_refused_with_their_ids(layout):
    texts = ["ok", "\u200b", " \t\n", None, "\ufeff \u200d", "fine"]
    write_parquet(pd.DataFrame({"question_id": list("abcdef"), "question": texts}), layout.seed_questions)
    with pytest.raises(DDCFError) as err:
        embed_tables(layout, which=("seed",), spec=SPEC, encoder=FakeEncoder(), progress=False)
    msg = str(err.value)
    assert "4 empty question text(s)" in msg and "'b', 'c', 'd', 'e'" in msg and str(layout.seed_questions) in msg
