"""Our k-greedy picks what the released code picks (redundancy "floor", the default); "signed" (eq. 5 as written)
does not, and is itself the straightforward signed loop.

How data/reference_kgreedy_picks.json was produced (outside this repository, nothing of it is committed):

* released code: github.com/iNLP-Lab/DDCF at commit 434f9d5 (434f9d518ad5ab7d30c89eaa21d60f6248781596),
  ``k_greedy_selection.py``, function ``ddcf_greedy_min(embed, diff, k, lam)``, extracted with
  ``git -C <mirror> show 434f9d5:k_greedy_selection.py > /tmp/A/ref_kg.py`` and imported from /tmp/A;
* input (:func:`released_input` rebuilds it from the repository): rows 0, 8, 16, ... of
  data/bundled/corpus.parquet, first occurrence of each question text (1,988 rows: 937 MATH, 935 GSM8K, 116 AIME);
  their shipped all-MiniLM-L6-v2 vectors from data/bundled/embedding_cache (float16, read as float32; 3.9 % of
  the pairwise cosines are negative); the predicted correctness of Meta-Llama-3-8B-Instruct from a
  ``make demo WORKDIR=/tmp/A/demo`` run (factorized_data/Meta-Llama-3-8B-Instruct.parquet, float32), stored in
  the JSON because the predictor is trained;
* command: ``/work/main/.venv/bin/python run_ref.py`` in /tmp/A, which called
  ``ddcf_greedy_min(x.copy(), p.astype(float64), 500, lam=lamda)`` for lamda in 0, 0.2, 0.5 and wrote the picks.

The released code starts the redundancy vector at zeros and raises it with np.maximum, so its redundancy is
max(0, max cosine to the picks); on this input the signed max already changes the second pick at every lamda.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ddcf.bundled.files import BUNDLED_DIR, EMBED_CACHE_DIR
from ddcf.embed.cache import EmbeddingCache
from ddcf.io import text_hash
from ddcf.select import kgreedy_fast, kgreedy_reference
from ddcf.select.kgreedy.torch import kgreedy_torch

DATA = Path(__file__).parent / "data" / "reference_kgreedy_picks.json"
STRIDE = 8


@pytest.fixture(scope="module")
def released_input():
    ref = json.loads(DATA.read_text())
    corpus = pd.read_parquet(BUNDLED_DIR / "corpus.parquet", columns=["question_id", "question"]).iloc[::STRIDE]
    corpus = corpus[~corpus["question"].duplicated()]
    assert corpus["question_id"].astype(str).tolist() == ref["question_ids"], "the bundled corpus changed"
    cache = EmbeddingCache(EMBED_CACHE_DIR, "packaged:all-MiniLM-L6-v2", quarantine=False)
    x = cache.gather([text_hash(q) for q in corpus["question"]])
    p = np.asarray(ref["predicted_correctness"], dtype=np.float32)
    return x, p, {float(lam): np.asarray(v, dtype=np.int64) for lam, v in ref["picks"].items()}


def test_the_input_has_negative_cosines(released_input):
    x, _, _ = released_input
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    g = u @ u.T
    assert 0.02 < (g[np.triu_indices(len(x), 1)] < 0).mean() < 0.1  # the bundled MiniLM vectors: 3.9 %


@pytest.mark.parametrize("lamda", (0.0, 0.2, 0.5))
def test_default_picks_equal_the_released_code(released_input, lamda):
    x, p, picks = released_input
    want = picks[lamda]
    k = len(want)
    fast = kgreedy_fast(x, p, k, lamda)
    assert fast.stats["redundancy"] == "floor"
    assert np.array_equal(fast.indices, want)
    assert fast.stats["bound_violations"] == 0
    assert np.array_equal(kgreedy_reference(x, p, k, lamda, redundancy="floor").indices, want)
    if lamda == 0.2:
        assert np.array_equal(kgreedy_torch(x, p, k, lamda, device="cpu").indices, want)


@pytest.mark.parametrize("lamda", (0.0, 0.2, 0.5))
def test_signed_is_eq5_as_written_and_differs(released_input, lamda):
    x, p, picks = released_input
    want = picks[lamda]
    k = len(want)
    signed = kgreedy_fast(x, p, k, lamda, redundancy="signed")
    straightforward = kgreedy_reference(x, p, k, lamda, redundancy="signed")
    assert np.array_equal(signed.indices, straightforward.indices)
    assert np.array_equal(signed.cost, straightforward.cost)
    assert not np.array_equal(signed.indices, want)
    assert signed.indices[0] == want[0]  # the first pick has no redundancy in either mode
    # the difference comes from the candidates whose every cosine to the picks is negative
    assert np.nanmin(signed.max_similarity) < 0
