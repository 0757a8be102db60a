"""Checks that stage 5's inputs fit together: corpus embeddings vs the predictor, model names vs its list."""

from __future__ import annotations

import difflib
from pathlib import Path

from ddcf.errors import DDCFError, InputMismatchError
from ddcf.predictor.store import LoadedPredictor

REEMBED_FIX = (
    "re-embed the corpus with the predictor's embedding model (get_question_embeddings.py) or retrain the predictor"
)


def check_embedding_compat(pred: LoadedPredictor, manifest: dict, dim: int, corpus_path: Path) -> list[str]:
    """Raise when the corpus embeddings cannot be fed to the predictor; return warnings for unknowns."""
    trained = pred.embedding
    t_model, t_dim, t_norm = trained.get("embedding_model"), trained.get("dim"), trained.get("normalized")
    c_model, c_norm = manifest.get("embedding_model"), manifest.get("normalized")
    what = (
        f"The predictor in {pred.directory} was trained with {t_model or 'an unrecorded embedding model'} "
        f"(dim {t_dim}), but the corpus in {corpus_path} was embedded with {c_model or 'an unrecorded model'} "
        f"(dim {dim})."
    )
    fix = (f"re-embed the corpus with {t_model} (get_question_embeddings.py) or retrain the predictor on seed "
           f"embeddings from {c_model}." if t_model and c_model else REEMBED_FIX + ".")
    if t_dim is not None and int(t_dim) != int(dim):
        raise InputMismatchError(what, fix)
    if t_model and c_model and t_model != c_model:
        raise InputMismatchError(what, fix)
    if t_norm is not None and c_norm is not None and bool(t_norm) != bool(c_norm):
        raise InputMismatchError(
            f"The predictor in {pred.directory} was trained on {'L2-normalised' if t_norm else 'unnormalised'} "
            f"embeddings but the corpus embeddings {corpus_path} are "
            f"{'L2-normalised' if c_norm else 'unnormalised'}.",
            "embed seed and corpus the same way (get_question_embeddings.py normalises both by default).",
        )
    warnings = []
    if not (t_model and c_model):
        warnings.append("the embedding model of the predictor or of the corpus is not recorded; only the "
                        "dimension could be checked.")
    return warnings


def resolve_models(predictor_models: list[str], model_name: str | None, all_models: bool) -> list[str]:
    """The models to score (``DifficultyConfig.check`` made sure exactly one of the two is given)."""
    if all_models:
        return list(predictor_models)
    if model_name in predictor_models:
        return [model_name]
    close = difflib.get_close_matches(model_name, predictor_models, n=5, cutoff=0.4)
    hint = f"close matches: {', '.join(close)}" if close else f"known models: {', '.join(predictor_models[:10])}" + (
        " ..." if len(predictor_models) > 10 else "")
    raise DDCFError(
        f"--model_name '{model_name}' is not one of the {len(predictor_models)} models the predictor was trained on "
        f"({hint}).",
        "pass a name exactly as in DDCF_data/model_order.csv (or retrain the predictor with that model).",
    )
