"""Context extension: when the base model has fewer positions than --max_length, YaRN rope scaling.

Qwen2.5-Math-7B has 4,096 positions and the paper trains on 16,384 tokens; Qwen's own model cards extend such
models with YaRN, factor = wanted / original.  We write the extension into the model config (so the fine-tuned
model is saved with it and inference engines read it) and say so in the log; sequences are never truncated
silently to fit a shorter context.
"""

from __future__ import annotations

from ddcf.errors import DDCFError


def context_length(config) -> int | None:
    """Positions the model was built for (``max_position_embeddings`` of its text config), None if unknown."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    value = getattr(text, "max_position_embeddings", None)
    return int(value) if value else None


def extend_context(config, max_length: int, mode: str = "yarn", model_name: str = "the model",
                   longest: int | None = None) -> str | None:
    """Give ``config`` YaRN rope scaling (factor max_length / context) when its context is shorter than
    ``max_length``; return a log note (None when the context is long enough).  ``longest``: tokens of the longest
    training example; when even that fits the context the model is left as it is (YaRN also changes attention
    at short range), with a note.  ``mode='none'`` refuses instead of extending."""
    ctx = context_length(config)
    if ctx is None or ctx >= max_length:
        return None
    if longest is not None and longest <= ctx:
        return (f"context: {model_name} has {ctx:,} positions < --max_length {max_length:,}, but the longest "
                f"example has {longest:,} tokens: no extension needed, the model's rope is unchanged")
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    fix = (f"pass --max_length {ctx} (examples longer than that are dropped and counted) or --rope_extension yarn "
           "to extend the context")
    if mode == "none":
        raise DDCFError(
            f"{model_name} has {ctx:,} positions, fewer than --max_length {max_length:,}, and --rope_extension is "
            "none, so long examples could not be trained on.", fix + ".")
    params = dict(getattr(text, "rope_parameters", None) or {})
    if params and not isinstance(params.get("rope_type", params.get("type", "default")), str):
        raise DDCFError(f"{model_name} has per-layer rope parameters, which this YaRN extension does not handle.",
                        f"{fix.split(' or ')[0]}.")
    kind = params.get("rope_type", params.get("type", "default"))
    if kind not in ("default", None):
        raise DDCFError(
            f"{model_name} has {ctx:,} positions with rope scaling {kind!r} already, fewer than --max_length "
            f"{max_length:,}; stacking YaRN on another scaling is not supported.", f"{fix.split(' or ')[0]}.")
    factor = max_length / ctx
    theta = params.get("rope_theta", getattr(text, "rope_theta", None))
    new = {**params, "rope_type": "yarn", "factor": float(factor), "original_max_position_embeddings": ctx}
    new.pop("type", None)
    if theta is not None:
        new["rope_theta"] = theta
    text.rope_parameters = new
    text.max_position_embeddings = max_length
    return (f"context: {model_name} has {ctx:,} positions < --max_length {max_length:,}; extended with YaRN rope "
            f"scaling (factor {factor:g}, original_max_position_embeddings {ctx:,}), saved in the fine-tuned "
            "model's config")
