import numpy as np
import pandas as pd

from ddcf.bundled.files import (
    CORPUS,
    EMBED_CACHE_DIR,
    SEED_COMPLETIONS,
    SHIPPED_CHUNK_OFFSET,
    install_bundled_embedding_cache,
    install_bundled_questions,
)
from ddcf.embed.cache import EmbeddingCache
from ddcf.embed.models import PACKAGED_MINILM
from ddcf.io import text_hash


def test_bundled_tables_have_the_documented_shape():
    seed = pd.read_parquet(SEED_COMPLETIONS)
    corpus = pd.read_parquet(CORPUS)
    assert len(seed) == 88090 and seed.model.nunique() >= 44
    assert set(seed.dataset) == {"gsm8k", "math"}
    assert len(corpus) == 15946 and corpus.question_id.is_unique
    assert set(corpus.dataset) == {"gsm8k", "math", "aime"}


def test_shipped_embedding_cache_covers_corpus_and_matches_the_model(layout):
    # 289 corpus questions repeat an earlier text (AIME problems in MATH train): dropped, first id kept
    counts = install_bundled_questions(layout)
    assert counts == {"seed_questions": 2040, "corpus_questions": 15657, "duplicate_texts": 289,
                      "duplicates_dropped": 289, "keep_duplicates": False}
    n = install_bundled_embedding_cache(layout)
    corpus = pd.read_parquet(CORPUS)
    unique = {text_hash(t) for t in corpus.question}
    assert n == len(unique)
    cache = EmbeddingCache(layout.embedding_shards, PACKAGED_MINILM)
    assert all(h in cache for h in unique)
    assert install_bundled_embedding_cache(layout) == n  # idempotent: nothing copied twice
    assert len(list(cache.dir.glob("*.hashes.parquet"))) == len(list((EMBED_CACHE_DIR).rglob("*.hashes.parquet")))

    # The shipped vectors are what the packaged model gives for those texts (float16-rounded).
    from sentence_transformers import SentenceTransformer

    from ddcf.embed.models import packaged_minilm_path

    sample = corpus.question.iloc[[0, 8000, 15900]].tolist()
    fresh = SentenceTransformer(packaged_minilm_path(), device="cpu").encode(sample, normalize_embeddings=True)
    shipped = cache.gather([text_hash(t) for t in sample])
    cos = (fresh * shipped).sum(1) / np.linalg.norm(shipped, axis=1)
    assert (cos > 0.999).all(), cos


def test_installed_cache_gives_the_shipped_vectors(layout):
    """The install goes through EmbeddingCache: what it installs reads back as exactly the shipped vectors."""
    n = install_bundled_embedding_cache(layout)
    assert EmbeddingCache.models(EMBED_CACHE_DIR) == [PACKAGED_MINILM]
    shipped = EmbeddingCache(EMBED_CACHE_DIR, PACKAGED_MINILM)
    installed = EmbeddingCache(layout.embedding_shards, PACKAGED_MINILM)
    assert len(installed) == len(shipped) == n
    hashes = [h for _, chunk_hashes, _ in shipped.chunks() for h in chunk_hashes]
    np.testing.assert_array_equal(installed.gather(hashes), shipped.gather(hashes))
    # the shipped chunk files themselves are read, not rewritten: float16 on disk, as shipped
    [(k, _, stored)] = list(installed.chunks())
    assert k == SHIPPED_CHUNK_OFFSET and stored.dtype == np.float16


def test_export_then_install_round_trip(tmp_path, monkeypatch):
    """scripts/build_bundled_data.py --embedding_cache_from: a finished run's corpus vectors -> a cache chunk."""
    from ddcf.bundled import files as bundled
    from ddcf.io import save_embeddings, write_parquet
    from ddcf.layout import Layout

    run = Layout(tmp_path / "run")
    texts = ["q one", "q two", "q one", "q three"]  # a duplicate text is stored once
    write_parquet(pd.DataFrame({"question_id": list("abcd"), "question": texts}), run.corpus_questions)
    vecs = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    vecs[2] = vecs[0]
    save_embeddings(vecs, list("abcd"), run.corpus_embeddings, {"embedding_model": "org/tiny", "normalized": False})
    out = tmp_path / "shipped"
    chunk_dir = bundled.export_corpus_embedding_cache(run.root, out)
    assert bundled.export_corpus_embedding_cache(run.root, out) == chunk_dir  # re-export replaces, not appends
    exported = EmbeddingCache(out, "org/tiny")
    assert exported.dir == chunk_dir and len(exported) == 3 and [k for k, _, _ in exported.chunks()] == [0]
    hashes = [text_hash(t) for t in texts]
    np.testing.assert_array_equal(exported.gather(hashes), vecs.astype(np.float16).astype(np.float32))

    monkeypatch.setattr(bundled, "EMBED_CACHE_DIR", out)
    work = Layout(tmp_path / "work")
    assert bundled.install_bundled_embedding_cache(work) == 3
    np.testing.assert_array_equal(EmbeddingCache(work.embedding_shards, "org/tiny").gather(hashes),
                                  exported.gather(hashes))


def test_a_damaged_shipped_chunk_is_skipped_with_a_warning_and_left_in_place(tmp_path, monkeypatch):
    from ddcf.bundled import files as bundled
    from ddcf.layout import Layout

    shipped = EmbeddingCache(tmp_path / "shipped", "org/tiny")
    shipped.add(["a", "b"], np.ones((2, 4), dtype=np.float16), chunk=0)
    shipped.add(["c"], np.ones((1, 4), dtype=np.float16), chunk=1)
    npy = shipped._chunk_paths(1)[0]
    npy.write_bytes(npy.read_bytes()[:64])  # truncated
    monkeypatch.setattr(bundled, "EMBED_CACHE_DIR", tmp_path / "shipped")
    warnings = []
    assert bundled.install_bundled_embedding_cache(Layout(tmp_path / "work"), warnings) == 2
    [w] = warnings
    assert "chunk-000001.npy" in w and "git checkout" in w and "skipped" in w
    assert npy.exists() and not (shipped.dir / "damaged").exists()  # the repository copy is never moved
    assert len(EmbeddingCache(Layout(tmp_path / "work").embedding_shards, "org/tiny")) == 2
