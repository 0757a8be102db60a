"""The stage's speed report: duplicates skipped, cache hits, texts/s and tokens/s; and the benchmark script."""

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ddcf.embed import cli as embed_cli
from ddcf.embed import stage as embed_stage
from ddcf.embed.batching import count_tokens, plan_texts
from ddcf.embed.models import EmbeddingModelSpec
from ddcf.embed.stage import RunStats, embed_tables, summary_lines
from ddcf.io import text_hash, write_parquet

ROOT = Path(__file__).resolve().parents[2]
SPEC = EmbeddingModelSpec("fake-model", "fake", "cpu", False, False)


class WordTokenizer:
    """Whitespace 'tokenizer' with [CLS]/[SEP], truncating like a HF tokenizer."""

    def __call__(self, texts, truncation=False, max_length=None, padding=False):
        ids = [[0] + list(range(len(t.split()))) + [1] for t in texts]
        if truncation and max_length:
            ids = [x[:max_length] for x in ids]
        return {"input_ids": ids}


class TokenizingEncoder:
    def __init__(self, max_seq_length=None):
        self.tokenizer = WordTokenizer()
        self.max_seq_length = max_seq_length
        self.seen = []

    def encode(self, texts, batch_size, convert_to_numpy, normalize_embeddings, show_progress_bar):
        self.seen.extend(texts)
        out = np.stack([np.random.default_rng(len(t)).normal(size=4) for t in texts]).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _write(layout, seed_texts, corpus_texts):
    write_parquet(pd.DataFrame({"question_id": [f"s{i}" for i in range(len(seed_texts))], "question": seed_texts}),
                  layout.seed_questions)
    write_parquet(pd.DataFrame({"question_id": [f"c{i}" for i in range(len(corpus_texts))], "question": corpus_texts}),
                  layout.corpus_questions)


def test_plan_texts_dedups_sorts_and_skips_cached():
    texts = ["bb", "a", "ccc", "a", "bb", "dddd"]
    todo, n_rows, n_unique = plan_texts(texts)
    assert (n_rows, n_unique) == (6, 4)
    assert [t for _, t in todo] == ["dddd", "ccc", "bb", "a"]
    assert all(h == text_hash(t) for h, t in todo)
    todo2, _, n_unique2 = plan_texts(texts, cached={text_hash("ccc"), text_hash("a")})
    assert [t for _, t in todo2] == ["dddd", "bb"] and n_unique2 == 4


def test_run_stats_count_duplicates_cache_hits_and_tokens(layout):
    # seed: 3 texts; corpus: 4 rows of which one repeats a seed text and one repeats itself
    _write(layout, ["one two three", "four five", "six"], ["one two three", "seven eight nine ten", "x y", "x y"])
    enc = TokenizingEncoder()
    res = embed_tables(layout, spec=SPEC, encoder=enc, progress=False)
    st = res[0].stats
    assert st is res[1].stats  # one pass over both tables: one report
    assert (st.n_rows, st.n_unique, st.duplicates_skipped, st.n_cache_hits, st.n_embedded) == (7, 5, 2, 0, 5)
    # words + [CLS] + [SEP] of the 5 distinct texts: 5 + 4 + 3 + 6 + 4
    assert st.n_tokens == 22
    assert st.embed_seconds > 0 and st.wall_seconds >= st.embed_seconds
    assert st.texts_per_s == pytest.approx(5 / st.embed_seconds)
    assert st.tokens_per_s == pytest.approx(22 / st.embed_seconds)
    assert res[0].rate == st.texts_per_s

    # Rerun with one new corpus text: only it is embedded, the rest are cache hits.
    _write(layout, ["one two three", "four five", "six"], ["one two three", "seven eight nine ten", "x y", "brand new"])
    enc2 = TokenizingEncoder()
    st2 = embed_tables(layout, spec=SPEC, encoder=enc2, progress=False)[0].stats
    assert enc2.seen == ["brand new"]
    assert (st2.n_unique, st2.n_cache_hits, st2.n_embedded, st2.n_tokens) == (6, 5, 1, 4)

    st3 = embed_tables(layout, spec=SPEC, encoder=TokenizingEncoder(), progress=False)[0].stats
    assert (st3.n_embedded, st3.n_tokens, st3.texts_per_s) == (0, 0, 0.0)


def test_tokens_follow_model_truncation_and_are_optional():
    enc = TokenizingEncoder(max_seq_length=3)
    assert count_tokens(enc, ["a b c d e f", "a"]) == 3 + 3
    assert count_tokens(object(), ["a"]) is None  # no tokenizer: no count, no failure

    class BrokenTok:
        tokenizer = staticmethod(lambda *a, **k: 1 / 0)

    assert count_tokens(BrokenTok(), ["a"]) is None


def test_encoder_without_tokenizer_reports_no_tokens_per_s(layout):
    from test_embed_stage import FakeEncoder  # sibling test module (rootdir mode)

    _write(layout, ["p", "q"], ["r"])
    st = embed_tables(layout, spec=SPEC, encoder=FakeEncoder(), progress=False)[0].stats
    assert st.n_tokens is None and st.tokens_per_s is None and st.n_embedded == 3
    text = "\n".join(summary_lines(st))
    assert "texts/s" in text and "tokens/s" not in text


def test_summary_lines():
    st = RunStats(n_rows=10, n_unique=7, n_cache_hits=2, n_embedded=5, n_tokens=500, embed_seconds=2.0,
                  wall_seconds=2.5)
    text = "\n".join(summary_lines(st))
    assert "duplicates skipped: 3" in text and "cache hits 2" in text and "embedded now 5" in text
    assert "2.5 texts/s" in text and "250 tokens/s" in text and "wall time 2.5 s" in text
    cached = RunStats(n_rows=4, n_unique=4, n_cache_hits=4, n_embedded=0, n_tokens=0, embed_seconds=0.0,
                      wall_seconds=0.1)
    assert "nothing embedded" in "\n".join(summary_lines(cached))


def test_cli_prints_speed_report(layout, monkeypatch, capsys):
    _write(layout, ["a b", "c d e"], ["a b", "f"])
    monkeypatch.setattr(embed_stage, "resolve_model", lambda model, device: SPEC)
    monkeypatch.setattr(embed_stage, "load_sentence_transformer", lambda spec: TokenizingEncoder())
    assert embed_cli.main(["--workdir", str(layout.root), "--no_progress"]) == 0
    out = capsys.readouterr().out
    assert "duplicates skipped: 1" in out and "texts/s" in out and "tokens/s" in out and "cache hits 0" in out
    assert embed_cli.main(["--workdir", str(layout.root), "--no_progress"]) == 0
    out = capsys.readouterr().out
    assert "cache hits 3" in out and "nothing embedded" in out


def test_benchmark_script_runs_tiny(capsys):
    """bench_embed.py end to end on 6 real questions: (a), (b), (c) and the ratios/cosines are printed."""
    spec = importlib.util.spec_from_file_location("bench_embed", ROOT / "benchmarks" / "bench_embed.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_embed"] = mod
    spec.loader.exec_module(mod)
    assert mod.main(["--n", "6", "--repeats", "1", "--quant", "per_tensor", "--sample", "head"]) == 0
    out = capsys.readouterr().out
    for needle in ("(a) naive", "(b) ours", "(c) stage + torch dynamic int8", "ratio (b)/(a)", "ratio (c)/(b)",
                   "cosine (c) vs (b)", "ship criteria"):
        assert needle in out, needle
    # the stage's fp32 path computes the same vectors as plain encode (up to float rounding)
    assert float(re.search(r"cosine \(a\) vs \(b\): min ([0-9.]+)", out).group(1)) > 0.9999


def test_batches_follow_token_count_not_characters(layout):
    """Long-but-few-token texts must not share a batch with many-token texts (LaTeX is token-dense)."""
    texts = ["x" * 40, "a b c d e f g", "y" * 30, "p q r s", "m n"]  # chars: 40, 13, 30, 7, 3; tokens: 3, 9, 3, 6, 4

    class BatchRecorder(TokenizingEncoder):
        calls = []

        def encode(self, texts, **kw):
            self.calls.append(list(texts))
            return super().encode(texts, **kw)

    _write(layout, texts, texts[:1])
    enc = BatchRecorder()
    embed_tables(layout, spec=SPEC, encoder=enc, batch_size=2, progress=False)
    # tokens descending; equal token counts keep the longer text first
    assert enc.seen == ["a b c d e f g", "p q r s", "m n", "x" * 40, "y" * 30]
    # one encode() call per batch, so SentenceTransformer cannot re-sort across batches by characters
    assert [len(c) for c in BatchRecorder.calls] == [2, 2, 1]


def test_token_order_gives_the_same_vectors_as_plain_encode(layout):
    """The exact fp32 path: per-batch, token-ordered encoding reproduces one big encode() call."""
    from ddcf.embed.models import load_sentence_transformer, resolve_model

    corpus = pd.read_parquet(ROOT / "data" / "bundled" / "corpus.parquet").sample(12, random_state=3)
    texts = corpus["question"].astype(str).tolist()
    write_parquet(pd.DataFrame({"question_id": [f"q{i}" for i in range(len(texts))], "question": texts}),
                  layout.corpus_questions)
    spec = resolve_model("auto", "cpu")
    model = load_sentence_transformer(spec)
    res = embed_tables(layout, which=("corpus",), spec=spec, encoder=model, batch_size=8, progress=False)
    from ddcf.io import load_embeddings

    ours, ids, _ = load_embeddings(layout.corpus_embeddings)
    plain = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(np.asarray(ours), plain, atol=2e-5)
    assert res[0].stats.n_tokens == count_tokens(model, texts) > len(texts)


def test_default_batch_size_depends_on_device(layout):
    from ddcf.embed.batching import default_batch_size
    from ddcf.errors import DDCFError

    assert default_batch_size("cpu") == 16 and default_batch_size("cuda") == default_batch_size("cuda:1") == 64

    class Recorder(TokenizingEncoder):
        def __init__(self):
            super().__init__()
            self.sizes = []

        def encode(self, texts, **kw):
            self.sizes.append(len(texts))
            return super().encode(texts, **kw)

    _write(layout, [f"question {i}" for i in range(40)], ["other"])
    enc = Recorder()
    embed_tables(layout, spec=SPEC, encoder=enc, progress=False)  # SPEC is a CPU spec
    assert enc.sizes == [16, 16, 9]
    with pytest.raises(DDCFError, match="batch_size"):
        embed_tables(layout, spec=SPEC, encoder=enc, progress=False, batch_size=0)
