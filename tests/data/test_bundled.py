import numpy as np
import pandas as pd

from ddcf.data.bundled import (CORPUS, EMBED_CACHE_DIR, SEED_COMPLETIONS, install_bundled_embedding_cache,
                               install_bundled_questions)
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
    counts = install_bundled_questions(layout)
    assert counts == {"seed_questions": 2040, "corpus_questions": 15946}
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
