"""Stage 4's inputs: the model order, the train/val split and the seed embeddings, checked and joined.

Every pair lives in three flat arrays (model id, question row, label) that index one dense
embedding matrix, so the training loop never does Python work per pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.artifacts import seed as seed_table
from ddcf.artifacts.matrix import read_matrix, read_model_order, read_split
from ddcf.errors import DDCFError
from ddcf.io import align_embeddings, hash_ids, load_embeddings
from ddcf.layout import Layout
from ddcf.predictor.features import text_features


@dataclass
class Pairs:
    """One split as flat arrays; ``q_row`` indexes ``TrainingData.embeddings``."""

    model_id: np.ndarray  # int64
    q_row: np.ndarray  # int64
    correct: np.ndarray  # int64 0/1
    dataset: np.ndarray  # str
    pass_rate: np.ndarray | None = None  # float64, measured pass rate of each pair when the matrix has n > 1

    def __len__(self) -> int:
        return len(self.model_id)


@dataclass
class TrainingData:
    models: list[str]
    question_ids: list[str]
    embeddings: np.ndarray  # (n_questions, d) float32, rows for question_ids
    train: Pairs
    val: Pairs
    embedding_info: dict
    split_sha256: str
    stats: dict = field(default_factory=dict)
    test: Pairs | None = None  # questions held out from training and tuning; None or empty: no test split
    #: raw text statistics (ddcf.predictor.features) per embedding row; None when the question texts are unknown
    text_features: np.ndarray | None = None

    def model_inputs(self, model) -> np.ndarray:
        """The input rows ``model`` reads: the embeddings, plus the text statistics when it uses them."""
        if getattr(model, "n_text", 0):
            if self.text_features is None:
                raise DDCFError("The predictor uses text statistics but the seed question texts are unknown.",
                                "pass --text_features off, or provide DDCF_data/seed/questions.parquet.")
            return np.ascontiguousarray(np.concatenate([self.embeddings, self.text_features], axis=1))
        return self.embeddings


def training_coverage(models: list[str], train: pd.DataFrame) -> dict:
    """Which models the predictor sees answers of: a model without training rows keeps its random initial
    embedding, and one whose rows are all one class only learns "always" or "never" (both look like real
    predictions when scored, so they are recorded and reported)."""
    per_model = train.groupby("model_id")["correct"].agg(["size", "min", "max"])
    with_rows = [models[i] for i in range(len(models)) if i in per_model.index]
    one_class = {models[i]: ("correct" if row["min"] == 1 else "wrong")
                 for i, row in per_model.iterrows() if row["min"] == row["max"]}
    return dict(
        models_with_training_rows=with_rows,
        models_without_training_rows=[m for m in models if m not in set(with_rows)],
        one_class_models=one_class,
        train_rows_per_model={models[i]: int(n) for i, n in per_model["size"].items()},
    )


def coverage_warnings(stats: dict, model_order: Path) -> list[str]:
    """One warning per model that the predictor cannot really predict (see :func:`training_coverage`)."""
    out = [f"the model {m!r} is listed in {model_order} but has no training rows: the predictor never saw one of "
           "its answers, so its embedding stays at its random start and difficulty/selection will refuse it. Add "
           "its verdicts (infer.py) and rerun create_training_data.py and train_correctness_predictor.py."
           for m in stats["models_without_training_rows"]]
    out += [f"every training answer of the model {m!r} is {word}: the predictor can only learn that it is always "
            f"{word}, so its scores say nothing about which questions are harder for it. Add more varied verdicts "
            "for it, or leave it out of difficulty estimation."
            for m, word in stats["one_class_models"].items()]
    return out


def split_sha256(train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame | None = None) -> str:
    """Content hash of the splits (row order included): which pairs, which labels, which side."""
    sides = [("train", train), ("val", val)] + ([("test", test)] if test is not None and len(test) else [])
    rows = (
        f"{side}\t{m}\t{q}\t{c}"
        for side, df in sides
        for m, q, c in zip(df["model"], df["question_id"], df["correct"])
    )
    return hash_ids(rows)


def load_training_data(layout: Layout) -> TrainingData:
    """Read model order, both splits and the seed embeddings; check they belong together."""
    models = read_model_order(layout)
    train = read_split(layout, "train", models)
    val = read_split(layout, "val", models)
    has_test = layout.test_split.exists()
    # An empty test split is legitimate (create_training_data.py --test_ratio 0); the stage then warns.
    test = (read_split(layout, "test", models, allow_empty=True) if has_test
            else val.iloc[:0].copy())
    arr, emb_ids, manifest = load_embeddings(layout.seed_embeddings, "seed embeddings")
    return build_training_data(models, train, val, test, arr, emb_ids, manifest, matrix_pass_rates(layout),
                               has_test=has_test, embeddings_path=layout.seed_embeddings,
                               texts=seed_texts(layout))


def seed_texts(layout: Layout) -> dict[str, str] | None:
    """question_id -> question text from the seed questions table, or None when it is absent or has no text."""
    if not seed_table.exists(layout):
        return None
    q = seed_table.read_seed(layout, columns=("question_id", "question"), check_blank=False)
    return dict(zip(q["question_id"], q["question"]))


def build_training_data(models: list[str], train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame | None,
                        arr: np.ndarray, emb_ids: list[str], manifest: dict | None = None,
                        rates: pd.Series | None = None, has_test: bool | None = None,
                        embeddings_path: Path | str = "(in memory)",
                        texts: dict[str, str] | None = None) -> TrainingData:
    """TrainingData from split tables (columns model_id, model, question_id, correct, dataset) and the seed
    embeddings (rows ``arr`` for ids ``emb_ids``, joined by id).  The library entry point for benchmarks and
    simulations that build their own splits; ``rates`` are pass rates by (model, question_id)."""
    manifest = manifest or {}
    if test is None:
        test = val.iloc[:0].copy()
    if has_test is None:
        has_test = len(test) > 0
    # One embedding row per distinct question of any split, joined by id.
    qids = pd.unique(np.concatenate([df["question_id"].to_numpy() for df in (train, val, test)]))
    emb = align_embeddings(arr, emb_ids, list(qids), "seed embeddings", embeddings_path)
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    row = pd.Index(qids)

    def pairs(df: pd.DataFrame) -> Pairs:
        # np.array copies: writable arrays (torch.from_numpy warns on read-only pandas views).
        pr = None
        if rates is not None:
            key = pd.MultiIndex.from_arrays([df["model"], df["question_id"]])
            pr = rates.reindex(key).to_numpy(dtype=np.float64)
        return Pairs(
            model_id=np.array(df["model_id"], dtype=np.int64),
            q_row=row.get_indexer(df["question_id"]).astype(np.int64),
            correct=np.array(df["correct"], dtype=np.int64),
            dataset=np.array(df["dataset"], dtype=str),
            pass_rate=pr,
        )

    tr_q, va_q, te_q = set(train["question_id"]), set(val["question_id"]), set(test["question_id"])
    stats = dict(
        n_train=len(train),
        n_val=len(val),
        n_test=len(test),
        n_train_questions=len(tr_q),
        n_val_questions=len(va_q),
        n_test_questions=len(te_q),
        has_test_split=has_test,
        val_questions_also_in_train=len(tr_q & va_q),
        test_questions_also_in_train_or_val=len(te_q & (tr_q | va_q)),
        train_accuracy=float(train["correct"].mean()),
        val_accuracy=float(val["correct"].mean()),
        test_accuracy=float(test["correct"].mean()) if len(test) else None,
        has_pass_rates=rates is not None,
        models_without_train_rows=sorted(set(range(len(models))) - set(train["model_id"].tolist())),
        **training_coverage(models, train),
    )
    info = dict(
        path=str(embeddings_path),
        embedding_model=manifest.get("embedding_model"),
        dim=int(arr.shape[1]),
        normalized=manifest.get("normalized"),
        question_ids_sha256=manifest.get("question_ids_sha256"),
    )
    tf = None
    if texts is not None and all(str(q) in texts for q in qids):
        tf = text_features([texts[str(q)] for q in qids])
    stats["has_question_texts"] = tf is not None
    return TrainingData(
        text_features=tf,
        models=models,
        question_ids=[str(q) for q in qids],
        embeddings=emb,
        train=pairs(train),
        val=pairs(val),
        test=pairs(test),
        embedding_info=info,
        split_sha256=split_sha256(train, val, test),
        stats=stats,
    )


def matrix_pass_rates(layout: Layout) -> pd.Series | None:
    """Measured pass rates by (model, question_id) from matrix.parquet, when some pair has n > 1 verdicts
    (``infer.py --n K``): the ranking target of the per-model Spearman metric.  None otherwise."""
    if not layout.matrix.exists():
        return None
    wanted = ("model", "question_id", "pass_rate", "n")
    m, _ = read_matrix(layout, columns=(), optional=wanted)
    if set(m.columns) != set(wanted):  # an older or hand-made matrix without these columns
        return None
    if m.empty or not (pd.to_numeric(m["n"], errors="coerce") > 1).any():
        return None
    m = m.drop_duplicates(["model", "question_id"])
    return pd.Series(pd.to_numeric(m["pass_rate"], errors="coerce").to_numpy(),
                     index=pd.MultiIndex.from_arrays([m["model"].astype(str), m["question_id"].astype(str)]))
