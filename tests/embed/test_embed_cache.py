"""EmbeddingCache: the only reader and writer of cache chunks (the stage's, and the shipped demo cache)."""

import numpy as np
import pytest

from ddcf.embed.cache import EmbeddingCache


def _vectors(n, dim=4, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(dtype)


def test_add_gather_and_reload(tmp_path):
    cache = EmbeddingCache(tmp_path, "org/model")
    assert len(cache) == 0 and cache.dim is None
    first = cache.add(["a", "b"], _vectors(2))
    second = cache.add(["c"], _vectors(1, seed=1))
    again = EmbeddingCache(tmp_path, "org/model")
    assert len(again) == 3 and "c" in again and "z" not in again
    np.testing.assert_array_equal(again.gather(["c", "a"]), np.concatenate([_vectors(1, seed=1), _vectors(2)[:1]]))
    assert EmbeddingCache.models(tmp_path) == ["org/model"]
    assert [k for k, _, _ in again.chunks()] == [first, second]  # oldest first


def test_float16_is_kept_on_disk_and_gathered_as_float32(tmp_path):
    cache = EmbeddingCache(tmp_path, "m")
    vec = _vectors(3, dtype=np.float16)
    cache.add(["a", "b", "c"], vec, chunk=5)
    _, _, stored = next(EmbeddingCache(tmp_path, "m").chunks())
    assert stored.dtype == np.float16
    out = cache.gather(["b"])
    assert out.dtype == np.float32 and np.array_equal(out[0], vec[1].astype(np.float32))
    with pytest.raises(ValueError, match="already exists"):
        cache.add(["d"], vec[:1], chunk=5)


def test_import_from_is_idempotent_and_keeps_own_chunks(tmp_path):
    src = EmbeddingCache(tmp_path / "shipped", "m")
    src.add(["a", "b"], _vectors(2, dtype=np.float16))
    dst = EmbeddingCache(tmp_path / "work", "m")
    own = dst.add(["x"], _vectors(1, seed=3))
    assert dst.import_from(src, first_chunk=900000) == 2
    assert dst.import_from(src, first_chunk=900000) == 2  # nothing copied twice
    reread = EmbeddingCache(tmp_path / "work", "m")
    assert [k for k, _, _ in reread.chunks()] == [900000, own] and len(reread) == 3
    np.testing.assert_array_equal(reread.gather(["a", "b"]), src.gather(["a", "b"]))
    new = reread.add(["y"], _vectors(1))  # new chunks never overwrite imported ones
    assert [k for k, _, _ in EmbeddingCache(tmp_path / "work", "m").chunks()] == [900000, own, new]
    np.testing.assert_array_equal(EmbeddingCache(tmp_path / "work", "m").gather(["a", "b"]), src.gather(["a", "b"]))
    with pytest.raises(ValueError, match="cannot import"):
        EmbeddingCache(tmp_path / "work", "other").import_from(src)


def test_clear_and_torn_chunks(tmp_path):
    cache = EmbeddingCache(tmp_path, "m")
    cache.add(["a"], _vectors(1))
    # a torn chunk (vectors written, hashes not matching) is ignored on load
    npy, hashes = cache._chunk_paths(cache.keys()[0])
    np.save(npy, _vectors(2))
    assert len(EmbeddingCache(tmp_path, "m")) == 0
    cache.clear()
    assert not cache.dir.exists() and len(cache) == 0 and cache.dim is None
    assert EmbeddingCache.models(tmp_path) == []
