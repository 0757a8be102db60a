import numpy as np
import pandas as pd
import pytest

from ddcf.embed.models import PACKAGED_MINILM, EmbeddingModelSpec, resolve_model
from ddcf.embed.stage import embed_tables
from ddcf.errors import DDCFError
from ddcf.io import load_embeddings, write_parquet


class FakeEncoder:
    """Deterministic stand-in for a SentenceTransformer that counts what it embeds."""

    def __init__(self, dim=8, fail_after_calls=None):
        self.dim = dim
        self.seen = []
        self.calls = 0
        self.fail_after_calls = fail_after_calls

    def encode(self, texts, batch_size, convert_to_numpy, normalize_embeddings, show_progress_bar):
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt("simulated interruption")
        self.calls += 1
        self.seen.extend(texts)
        out = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=self.dim) for t in texts])
        if normalize_embeddings:
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out.astype(np.float32)


SPEC = EmbeddingModelSpec("fake-model", "fake", "cpu", False, False)


def _tables(layout, n_seed=10, n_corpus=25):
    seed = pd.DataFrame({"question_id": [f"s{i}" for i in range(n_seed)],
                         "question": [f"seed question {i}" for i in range(n_seed)]})
    # the first 5 corpus texts duplicate seed texts, and c5..c9 duplicate each other
    texts = [f"seed question {i}" if i < 5 else ("dup" if i < 10 else f"corpus question {'x' * i}")
             for i in range(n_corpus)]
    corpus = pd.DataFrame({"question_id": [f"c{i}" for i in range(n_corpus)], "question": texts})
    write_parquet(seed, layout.seed_questions)
    write_parquet(corpus, layout.corpus_questions)
    return seed, corpus


def test_dedup_manifest_and_alignment(layout):
    seed, corpus = _tables(layout)
    enc = FakeEncoder()
    res = embed_tables(layout, spec=SPEC, encoder=enc, shard_size=4, progress=False)
    unique = set(seed.question) | set(corpus.question)
    assert len(enc.seen) == len(unique)  # every distinct text embedded exactly once
    assert [len(t) for t in enc.seen] == sorted((len(t) for t in enc.seen), reverse=True)  # longest first
    arr, ids, man = load_embeddings(layout.corpus_embeddings)
    assert ids == corpus.question_id.tolist()
    assert man["embedding_model"] == "fake-model" and man["dim"] == 8 and man["normalized"] is True
    sarr, sids, _ = load_embeddings(layout.seed_embeddings)
    np.testing.assert_array_equal(arr[:5], sarr[:5])  # same text -> same vector
    np.testing.assert_allclose(np.linalg.norm(arr, axis=1), 1.0, rtol=1e-5)
    assert {r.table for r in res} == {"seed", "corpus"}


def test_interrupted_run_resumes_without_recomputing(layout):
    _tables(layout)
    with pytest.raises(KeyboardInterrupt):
        embed_tables(layout, spec=SPEC, encoder=FakeEncoder(fail_after_calls=2), shard_size=4, progress=False)
    assert not layout.corpus_embeddings.exists()
    enc2 = FakeEncoder()
    embed_tables(layout, spec=SPEC, encoder=enc2, shard_size=4, progress=False)
    n_unique = 10 + 1 + 15
    assert len(enc2.seen) == n_unique - 8  # the two finished shards (8 texts) came from the cache
    enc3 = FakeEncoder()
    embed_tables(layout, spec=SPEC, encoder=enc3, shard_size=4, progress=False)
    assert enc3.seen == []
    enc4 = FakeEncoder()
    embed_tables(layout, spec=SPEC, encoder=enc4, shard_size=4, progress=False, overwrite=True)
    assert len(enc4.seen) == n_unique


def test_float16_output(layout):
    _tables(layout)
    embed_tables(layout, spec=SPEC, encoder=FakeEncoder(), dtype="float16", progress=False, which=("corpus",))
    arr, _, man = load_embeddings(layout.corpus_embeddings)
    assert arr.dtype == np.float16 and man["dtype"] == "float16"
    assert not layout.seed_embeddings.exists()


def test_bad_inputs(layout):
    with pytest.raises(DDCFError, match="does not exist"):
        embed_tables(layout, spec=SPEC, encoder=FakeEncoder(), progress=False)
    write_parquet(pd.DataFrame({"question_id": ["a", "a"], "question": ["x", "y"]}), layout.seed_questions)
    with pytest.raises(DDCFError, match="repeats 1 question id"):
        embed_tables(layout, spec=SPEC, encoder=FakeEncoder(), progress=False, which=("seed",))
    write_parquet(pd.DataFrame({"question_id": ["a", "b"], "question": ["x", "  "]}), layout.seed_questions)
    with pytest.raises(DDCFError, match="empty question text"):
        embed_tables(layout, spec=SPEC, encoder=FakeEncoder(), progress=False, which=("seed",))
    write_parquet(pd.DataFrame({"question_id": ["a"], "text": ["x"]}), layout.seed_questions)
    with pytest.raises(DDCFError, match="lacks the column"):
        embed_tables(layout, spec=SPEC, encoder=FakeEncoder(), progress=False, which=("seed",))


def test_nan_vectors_are_refused(layout):
    _tables(layout)

    class NaNEncoder(FakeEncoder):
        def encode(self, texts, **kw):
            return np.full((len(texts), 4), np.nan, dtype=np.float32)

    with pytest.raises(DDCFError, match="NaN"):
        embed_tables(layout, spec=SPEC, encoder=NaNEncoder(), progress=False)


def test_nan_in_saved_embeddings_is_caught_on_load(layout):
    from ddcf.io import save_embeddings

    arr = np.ones((3, 4), dtype=np.float32)
    arr[1, 2] = np.nan
    save_embeddings(arr, ["a", "b", "c"], layout.corpus_embeddings, {"embedding_model": "x", "normalized": False})
    with pytest.raises(DDCFError, match="non-finite"):
        load_embeddings(layout.corpus_embeddings)


def test_resolve_model_defaults_to_packaged_minilm_on_cpu():
    spec = resolve_model("auto", "cpu")
    assert spec.name == PACKAGED_MINILM and spec.device == "cpu"
    with pytest.raises(DDCFError):
        resolve_model("auto", "tpu")


def test_real_packaged_minilm_embeds_offline(layout):
    """The default CPU model really loads from the package (no network) and gives 384-dim unit vectors."""
    write_parquet(pd.DataFrame({"question_id": ["a", "b", "c"],
                                "question": ["What is 2+2?", "Compute 2 plus 2.", "Name the capital of France."]}),
                  layout.seed_questions)
    embed_tables(layout, which=("seed",), embedding_model="auto", device="cpu", progress=False)
    arr, ids, man = load_embeddings(layout.seed_embeddings)
    assert arr.shape == (3, 384) and man["embedding_model"] == PACKAGED_MINILM
    sim = arr @ arr.T
    assert sim[0, 1] > sim[0, 2]  # paraphrases are closer than unrelated text
