"""Predicted correctness of many models on the pool, from the trained predictor (crowd, ds2 --ds2_models).

Reuses stage 5's scoring (:func:`ddcf.difficulty.scoring.score_chunks`: one matrix product for all models) and
its checks (:func:`ddcf.difficulty.compat.check_trained` skips models without training rows, with a warning).
"""

from __future__ import annotations

import numpy as np

from ddcf.errors import DDCFError
from ddcf.select.methods.common import Context


def predicted_matrix(ctx: Context, models: list[str] | None = None) -> tuple[np.ndarray, list[str], list[str]]:
    """(M, n) P(correct) for ``models`` (default: every trained model of the predictor), the models, warnings."""
    from ddcf.difficulty.compat import check_embedding_compat, check_trained, resolve_models
    from ddcf.difficulty.scoring import score_chunks
    from ddcf.io import require_file
    from ddcf.predictor.store import load_predictor

    lay = ctx.layout
    fix = "train the predictor first: python train_correctness_predictor.py."
    require_file(lay.predictor_config, "predictor config", fix)
    pred = load_predictor(lay.predictor_config, lay.predictor_weights, device="cpu")
    if models:
        wanted = [m for name in models for m in resolve_models(pred.models, name, False)]
        chosen, warnings = check_trained(pred, wanted, False)
    else:
        chosen, warnings = check_trained(pred, list(pred.models), True)
    if not chosen:
        raise DDCFError(f"The predictor in {lay.predictor_dir} knows no trained model to score.", fix)
    warnings = list(warnings) + check_embedding_compat(pred, {"embedding_model": ctx.pool.meta.get("embedding_model")},
                                                       ctx.pool.x.shape[1], lay.corpus_embeddings)
    index = {m: i for i, m in enumerate(pred.models)}
    text = None
    if getattr(pred.model, "n_text", 0):  # per-row features, streamed from the corpus: only they are kept
        from ddcf.predictor.features import text_features

        text = ctx.pool.text_values("question", text_features)
    probs = score_chunks(pred, ctx.pool.x, [index[m] for m in chosen], progress=ctx.config.progress, text=text)
    return probs.astype(np.float64), chosen, warnings
