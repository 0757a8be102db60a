"""Checks that stage 5's inputs fit together: corpus embeddings vs the predictor, model names vs its list."""

from __future__ import annotations

import difflib
from pathlib import Path

from ddcf.artifacts.difficulty import untrained_fix
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


def check_trained(pred: LoadedPredictor, models: list[str], all_models: bool) -> tuple[list[str], list[str]]:
    """The models that can be scored and warnings: a model without training rows is refused (its embedding is
    the random initial one, so its scores would look real and mean nothing); with ``--all_models`` it is
    skipped with a warning.  A predictor trained before this was recorded cannot be checked (a warning)."""
    trained = pred.config.get("models_with_training_rows")
    if trained is None:
        return models, [f"the predictor in {pred.directory} does not record which models had training rows (it was "
                        "trained by an older ddcf), so a model it never saw an answer of cannot be told apart; "
                        "retrain it with train_correctness_predictor.py to enable that check."]
    known = set(trained)
    untrained = [m for m in models if m not in known]
    if untrained and not all_models:
        raise DDCFError(
            f"The predictor in {pred.directory} never saw an answer of {untrained[0]!r}: the model is listed in its "
            "model order but had no training rows, so its embedding is the random initial one and every score "
            "would be a meaningless number near 0.5.",
            untrained_fix(untrained[0]),
        )
    warnings = [f"skipped {m!r}: the predictor never saw an answer of it (no training rows), so it cannot be "
                f"scored; to score it, {untrained_fix(m)}" for m in untrained]
    one_class = pred.config.get("one_class_models") or {}
    warnings += [f"every training answer of {m!r} was {one_class[m]}, so its scores do not rank questions by "
                 "difficulty for it." for m in models if m in one_class]
    return [m for m in models if m in known], warnings


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
