"""Small synthetic work directories for the predictor and difficulty tests (a helper, not collected by pytest;
imported as ``predictor_synth`` through pytest.ini's ``pythonpath = tests``).

The correctness matrix has a learnable low-rank structure that the question
embeddings carry: model m answers question q correctly iff
``skill_m . (P^T e_q) + bias_m > 0``.  Embedding rows are stored in a shuffled
order so anything that joins by position instead of by id fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ddcf.io import save_embeddings, write_csv, write_parquet
from ddcf.layout import Layout

EMBEDDER = "toy/embedder-v1"


@dataclass
class Synth:
    models: list[str]
    question_ids: list[str]
    embeddings: np.ndarray  # rows in question_ids order
    train: pd.DataFrame
    val: pd.DataFrame
    corpus_ids: list[str]
    corpus_embeddings: np.ndarray
    test: pd.DataFrame | None = None


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def build(
    layout: Layout,
    n_models: int = 6,
    n_questions: int = 240,
    dim: int = 16,
    rank: int = 2,
    val_frac: float = 0.2,
    seed: int = 0,
    test_frac: float = 0.0,
    corpus_n: int = 40,
    datasets: tuple[str, ...] = ("gsm8k", "math"),
    embedding_model: str = EMBEDDER,
    write_corpus: bool = True,
) -> Synth:
    rng = np.random.default_rng(seed)
    emb = unit_rows(rng.standard_normal((n_questions, dim)))
    proj = rng.standard_normal((dim, rank))
    skill = rng.standard_normal((n_models, rank))
    bias = rng.normal(0.3, 0.3, n_models)
    logits = skill @ (emb @ proj).T + bias[:, None]
    correct = (logits > 0).astype(np.int8)
    models = [f"org/model-{i}" for i in range(n_models)]
    qids = [f"q{i:04d}" for i in range(n_questions)]
    ds = [datasets[i % len(datasets)] for i in range(n_questions)]
    n_val = int(round(val_frac * n_questions))
    val_q = set(rng.choice(n_questions, n_val, replace=False).tolist())
    # The test questions come after the validation draw, so test_frac=0 keeps the older data exactly.
    rest = np.array(sorted(set(range(n_questions)) - val_q))
    test_q = set(rng.choice(rest, int(round(test_frac * n_questions)), replace=False).tolist()) if test_frac else set()
    rows = [
        dict(model_id=m, model=models[m], question_id=qids[q], correct=correct[m, q], dataset=ds[q],
             split="val" if q in val_q else ("test" if q in test_q else "train"))
        for m in range(n_models)
        for q in range(n_questions)
    ]
    df = pd.DataFrame(rows).astype({"model_id": "int64", "correct": "int8"})
    cols = ["model_id", "model", "question_id", "correct", "dataset"]
    train = df[df.split == "train"][cols].reset_index(drop=True)
    val = df[df.split == "val"][cols].reset_index(drop=True)
    test = df[df.split == "test"][cols].reset_index(drop=True)
    acc = correct.mean(axis=1)
    write_csv(pd.DataFrame({"model_id": range(n_models), "model": models, "n_answered": n_questions, "accuracy": acc}),
              layout.model_order)
    write_parquet(df, layout.matrix)
    write_parquet(train, layout.train_split)
    write_parquet(val, layout.val_split)
    if test_frac:
        write_parquet(test, layout.test_split)
    order = rng.permutation(n_questions)  # stored rows shuffled: joins must go by id
    save_embeddings(emb[order], [qids[i] for i in order], layout.seed_embeddings,
                    dict(embedding_model=embedding_model, normalized=True))
    c_emb = unit_rows(rng.standard_normal((corpus_n, dim)))
    c_ids = [f"c{i:05d}" for i in range(corpus_n)]
    if write_corpus:
        save_embeddings(c_emb, c_ids, layout.corpus_embeddings, dict(embedding_model=embedding_model, normalized=True))
        write_parquet(
            pd.DataFrame(dict(question_id=c_ids, question=[f"question {i}" for i in range(corpus_n)],
                              response="r", answer="a", dataset=[("gsm8k", "aime")[i % 2] for i in range(corpus_n)])),
            layout.corpus_questions,
        )
    return Synth(models, qids, emb, train, val, c_ids, c_emb, test)
