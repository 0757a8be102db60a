"""Context extension: when the base model has fewer positions than --max_length, YaRN rope scaling.

Qwen2.5-Math-7B has 4,096 positions and the paper trains on 16,384 tokens.  Two ways (``--rope_extension``):

* ``yarn_reference`` (default), what the released ``train/sft.py`` does: when the model's context is below
  --max_length (its block size, 16,384), ``max_position_embeddings`` becomes --max_length and the rope gets
  ``{"rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": <max_length>}`` - the same fixed
  dict whatever the model's own context, and whatever the length of the examples;
* ``yarn_fit``: factor = max_length / context with the model's own context as the original (the form of Qwen's
  model cards), and only when some kept example is longer than the context;
* ``none``: refuse a model whose context is shorter than --max_length.

The extension is written into the model config (the fine-tuned model is saved with it, so inference engines
read it) and said in the log; sequences are never truncated silently to fit a shorter context.
"""

from __future__ import annotations

from ddcf.errors import DDCFError

YARN_REFERENCE, YARN_FIT, NONE = "yarn_reference", "yarn_fit", "none"
ROPE_EXTENSIONS = (YARN_REFERENCE, YARN_FIT, NONE)
REFERENCE_FACTOR = 2.0  # the released train/sft.py's fixed YaRN factor


def context_length(config) -> int | None:
    """Positions the model was built for (``max_position_embeddings`` of its text config), None if unknown."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    value = getattr(text, "max_position_embeddings", None)
    return int(value) if value else None


def extend_context(config, max_length: int, mode: str = YARN_REFERENCE, model_name: str = "the model",
                   longest: int | None = None) -> str | None:
    """Give ``config`` YaRN rope scaling when its context is shorter than ``max_length`` (``mode``: see the module
    docstring); return a log note (None when the context is long enough).  ``longest``: tokens of the longest
    training example; with ``yarn_fit`` or ``none`` a model whose context holds even that is left as it is (YaRN
    also changes attention at short range), with a note; ``yarn_reference`` extends regardless, as the released
    code does."""
    ctx = context_length(config)
    if ctx is None or ctx >= max_length:
        return None
    if mode != YARN_REFERENCE and longest is not None and longest <= ctx:
        return (f"context: {model_name} has {ctx:,} positions < --max_length {max_length:,}, but the longest "
                f"example has {longest:,} tokens: no extension needed, the model's rope is unchanged")
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    fix = (f"pass --max_length {ctx} (examples longer than that are dropped and counted) or --rope_extension "
           f"{YARN_REFERENCE} to extend the context")
    if mode == NONE:
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
    yarn = yarn_parameters(ctx, max_length, mode)
    theta = params.get("rope_theta", getattr(text, "rope_theta", None))
    new = {**params, "rope_type": "yarn", **yarn}
    new.pop("type", None)
    if theta is not None:
        new["rope_theta"] = theta  # transformers 5 keeps rope_theta inside the rope parameters
    text.rope_parameters = new
    text.max_position_embeddings = max_length
    how = "the released code's fixed parameters" if mode == YARN_REFERENCE else "factor max_length / context"
    return (f"context: {model_name} has {ctx:,} positions < --max_length {max_length:,}; extended with YaRN rope "
            f"scaling (factor {yarn['factor']:g}, original_max_position_embeddings "
            f"{yarn['original_max_position_embeddings']:,}: {how}), saved in the fine-tuned model's config")


def yarn_parameters(context: int, max_length: int, mode: str = YARN_REFERENCE) -> dict:
    """The YaRN keys written for a model of ``context`` positions trained on ``max_length`` tokens."""
    if mode == YARN_REFERENCE:
        return {"factor": REFERENCE_FACTOR, "original_max_position_embeddings": int(max_length)}
    return {"factor": float(max_length / context), "original_max_position_embeddings": int(context)}
