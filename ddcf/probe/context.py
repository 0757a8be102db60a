"""What ``ddcf probe plan`` and ``fit`` both read: the trained predictor, its known models, the seed embeddings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ddcf.artifacts.matrix import read_model_order
from ddcf.errors import DDCFError
from ddcf.io import align_embeddings, load_embeddings
from ddcf.layout import Layout
from ddcf.predictor.data import seed_texts
from ddcf.predictor.features import features_for_ids
from ddcf.predictor.store import LoadedPredictor, load_predictor

TRAIN_FIX = "train it first: python train_correctness_predictor.py (after create_training_data.py and " \
            "get_question_embeddings.py)."


@dataclass
class Context:
    pred: LoadedPredictor
    known_ids: list[int]  # model ids of the predictor's models that had training rows (the prior's sample)
    order: list[str]  # model_order.csv, in model_id order

    @property
    def model(self):
        return self.pred.model

    @property
    def temperature(self) -> float:
        return self.pred.temperature


def load_context(layout: Layout, new_model: str) -> Context:
    """The predictor and model order, checked to agree, and ``new_model`` checked to be new."""
    if not layout.predictor_config.exists():
        raise DDCFError(f"There is no trained predictor in {layout.predictor_dir} (no config.json).", TRAIN_FIX)
    pred = load_predictor(layout.predictor_config, layout.predictor_weights, device="cpu")
    order = read_model_order(layout)
    if new_model in pred.models or new_model in order:
        where = "the predictor" if new_model in pred.models else str(layout.model_order)
        raise DDCFError(
            f"The model {new_model!r} already exists in {where}: ddcf probe cold-starts a model the predictor "
            "does not know yet.",
            "pick another name for the new model, or use the existing one directly "
            "(fullcorpus_difficulty_estimation.py --model_name ...); to fit it again, restore the previous "
            f"predictor from {layout.predictor_previous_dir} (and its model_order.csv row) first.")
    if order != pred.models:
        raise DDCFError(
            f"{layout.model_order} lists {len(order)} models but the predictor in {layout.predictor_dir} was "
            f"trained on {len(pred.models)} models in another order or with other names (the matrix was rebuilt "
            "after the predictor was trained).",
            "retrain the predictor (train_correctness_predictor.py) so both list the same models, then rerun.")
    trained = pred.config.get("models_with_training_rows")
    trained = set(pred.models if trained is None else trained)
    known = [i for i, m in enumerate(pred.models) if m in trained]
    if len(known) < 2:
        raise DDCFError(f"The predictor in {layout.predictor_dir} has {len(known)} model(s) with training rows; "
                        "a new model's prior is the spread of the known models, which needs at least 2.",
                        "add verdicts of more models, rebuild the matrix and retrain the predictor.")
    return Context(pred, known, order)


def seed_text_features(layout: Layout, pred: LoadedPredictor, ids: list[str]) -> np.ndarray | None:
    """The text statistics of seed questions ``ids`` when the predictor reads them (``--text_features``), else None."""
    if not getattr(pred.model, "n_text", 0):
        return None
    return features_for_ids(ids, seed_texts(layout) or {}, layout.seed_questions, pred.directory,
                            "restore the seed questions table the predictor was trained with (infer.py writes it), "
                            "or retrain the predictor with --text_features off.")


def seed_embeddings(layout: Layout, pred: LoadedPredictor, ids: list[str], what: str) -> np.ndarray:
    """The predictor's input rows for seed questions ``ids`` (joined by id): the embeddings, checked to come
    from the predictor's embedding model, plus the text statistics when the predictor reads them."""
    arr, emb_ids, manifest = load_embeddings(layout.seed_embeddings, "seed embeddings")
    want, have = pred.embedding.get("embedding_model"), manifest.get("embedding_model")
    if want and have and want != have:
        raise DDCFError(
            f"The seed embeddings {layout.seed_embeddings} come from {have} but the predictor was trained on "
            f"{want} embeddings.", "re-embed the seed questions with the predictor's model "
            "(get_question_embeddings.py) or retrain the predictor.")
    if arr.shape[1] != int((pred.config.get("architecture") or {}).get("dim", arr.shape[1])):
        raise DDCFError(f"The seed embeddings {layout.seed_embeddings} have dimension {arr.shape[1]}, unlike the "
                        "predictor's.", "re-embed the seed questions or retrain the predictor.")
    known = set(emb_ids)
    missing = [q for q in ids if q not in known]
    if missing:
        raise DDCFError(
            f"{len(missing)} question id(s) of {what} are not in the seed embeddings {layout.seed_embeddings} "
            f"(e.g. {', '.join(map(repr, missing[:5]))}).",
            "use ids of the seed questions table DDCF_data/seed/questions.parquet (the same seed set the predictor "
            "was trained on), or re-embed the seed questions (get_question_embeddings.py).")
    x = np.asarray(align_embeddings(arr, emb_ids, ids, "seed embeddings", layout.seed_embeddings), np.float32)
    text = seed_text_features(layout, pred, ids)
    return x if text is None else np.ascontiguousarray(np.concatenate([x, text], axis=1))
