"""Shared builders for the stage-6 tests (tiny synthetic inputs, exact oracle)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ddcf.io import save_embeddings, write_parquet


def clustered(n: int, d: int, seed: int, dup_frac: float = 0.0, scale_rows: bool = False) -> np.ndarray:
    """Unit-ish rows around a few centres (realistic positive cosines), optional duplicates."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 8), d))
    x = 0.8 * rng.standard_normal(d) + centres[rng.integers(0, len(centres), n)] + 0.3 * rng.standard_normal((n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x = x.astype(np.float32)
    if dup_frac:
        m = max(1, int(dup_frac * n))
        x[rng.integers(0, n, m)] = x[rng.integers(0, n, m)]
    if scale_rows:
        x *= rng.uniform(0.01, 50.0, (n, 1)).astype(np.float32)
    return x


def oracle(x: np.ndarray, predicted_correctness: np.ndarray, k: int, lamda: float, redundancy: str = "floor"):
    """Eq. 5 in pure Python with exact integer arithmetic for the canonical cosine.

    ``redundancy``: "floor" scores max(0, max sim) as the released code does, "signed" the signed max.

    Independent of BLAS and of numpy's canonicalisation: rows are rounded to the grid
    with Python floats/ints, dot products are exact Python integers.
    """
    n, d = x.shape
    s = 0
    while s < 24 and d * 4 ** (s + 1) <= 2**53:
        s += 1
    m_rows, invs = [], []
    for row in x.tolist():
        amax = max(abs(v) for v in row)
        e = math.frexp(amax)[1]
        m = [round(v * 2.0 ** (s - e)) for v in row]  # round() is half-to-even, like np.rint
        nsq = sum(t * t for t in m)
        m_rows.append(m)
        invs.append(1.0 / math.sqrt(float(nsq)) if nsq else 0.0)

    def sim(u, j):
        dot = sum(p * q for p, q in zip(m_rows[u], m_rows[j]))
        return float(dot) * (invs[u] * invs[j])

    lam = float(lamda)
    b = 1.0 - lam
    a = [lam * float(v) for v in np.asarray(predicted_correctness, dtype=np.float64)]
    picked, costs, msims = [], [], []
    best_sim = [None] * n  # running max over picks
    for _ in range(k):
        best_j, best_c = -1, None
        for j in range(n):
            if j in picked:
                continue
            m = best_sim[j] if picked else 0.0
            if redundancy == "floor":
                m = max(m, 0.0)
            c = a[j] + b * m
            if best_c is None or c < best_c:
                best_j, best_c = j, c
        picked.append(best_j)
        costs.append(best_c)
        msims.append(best_sim[best_j] if len(picked) > 1 else float("nan"))
        for j in range(n):
            v = sim(best_j, j)
            best_sim[j] = v if best_sim[j] is None else max(best_sim[j], v)
    return np.array(picked), np.array(costs), np.array(msims)


def write_layout(layout, n: int = 60, d: int = 16, seed: int = 0, model: str = "org/Target-7B",
                 predicted_correctness: np.ndarray | None = None):
    """Corpus questions, embeddings (via save_embeddings) and the stage-5 predicted-correctness table of ``model``."""
    rng = np.random.default_rng(seed)
    ids = [f"q{i:04d}" for i in range(n)]
    datasets = np.array(["gsm8k", "math", "aime"])[rng.integers(0, 3, n)]
    corpus = pd.DataFrame({
        "question_id": ids,
        "question": [f"Question {i}: what is {i} + {i}?" for i in range(n)],
        "response": [f"We add {i} and {i}. The answer is {2 * i}." for i in range(n)],
        "answer": [str(2 * i) for i in range(n)],
        "dataset": datasets,
    })
    write_parquet(corpus, layout.corpus_questions)
    x = clustered(n, d, seed)
    save_embeddings(x, ids, layout.corpus_embeddings, {"embedding_model": "test-model", "normalized": True})
    if predicted_correctness is None:
        predicted_correctness = rng.beta(2, 2, n).astype(np.float32)
    write_parquet(pd.DataFrame({"question_id": ids, "predicted_correctness": predicted_correctness}),
                  layout.difficulty(model), metadata={"model": model, "embedding_model": "test-model"})
    return corpus, x, np.asarray(predicted_correctness, dtype=np.float32)
