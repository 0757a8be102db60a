"""``ddcf probe fit``: add a new model to the trained predictor from its (probe) verdicts.

Reads DDCF_data/verdicts/<NEW>.parquet (repeated verdicts collapsed as the matrix stage does), fits NEW's row
with everything else frozen (``ddcf.probe.rowfit``), and writes a new predictor in the same store format
(config records ``cold_started``), after copying the previous one to DDCF_data/predictor/previous/; then
appends NEW to model_order.csv under the next model_id.
"""

from __future__ import annotations

import datetime as _dt
import shlex
import shutil

import numpy as np
import pandas as pd

from ddcf import __version__
from ddcf.artifacts.matrix import read_model_order_table, write_model_order
from ddcf.artifacts.verdicts import read_verdicts
from ddcf.errors import DDCFError
from ddcf.io import atomic_path, json_safe, read_parquet_metadata
from ddcf.layout import Layout
from ddcf.matrix.build import collapse
from ddcf.predictor.calibration import apply_temperature
from ddcf.predictor.metrics import accuracy, log_loss, roc_auc
from ddcf.predictor.store import save_predictor
from ddcf.probe.context import Context, seed_embeddings
from ddcf.probe.rowfit import add_row, fit_row, question_factors, row_space

#: keys save_predictor writes itself
STORE_KEYS = ("format", "version", "architecture", "weights", "weights_sha256")


def read_new_verdicts(layout: Layout, model: str) -> pd.DataFrame:
    """NEW's verdicts, one row per question (``question_id, correct, pass_rate, n, dataset``)."""
    path = layout.verdicts(model)
    plan = layout.probe_questions(model)
    w, q = layout.workdir_option, shlex.quote(model)
    if not path.exists():
        if plan.exists():
            raise DDCFError(f"There are no verdicts of {model!r} yet ({path} does not exist), though its probe "
                            f"list {plan} is written.",
                            f"answer the probe questions first: python infer.py{w} --model_name {q} "
                            f"--questions {shlex.quote(str(plan))}, then rerun ddcf probe fit{w} --model_name {q}.")
        raise DDCFError(f"There is nothing to fit {model!r} on: neither its probe list {plan} nor its verdicts "
                        f"{path} exist.",
                        f"plan first: ddcf probe plan{w} --model_name {q} --num 100, then python infer.py{w} "
                        f"--model_name {q} --questions {shlex.quote(str(plan))}, then ddcf probe fit{w} "
                        f"--model_name {q}.")
    fix = f"rerun infer.py{w} --model_name {q} (add --reverify)."
    df = read_verdicts(layout, model, fix=fix)  # the model's own, ids as text, 'correct' in [0, 1], a dataset
    df["model"] = model
    threshold = 0.5
    if layout.matrix.exists():  # collapse repeats exactly as the matrix the predictor was trained on did
        threshold = float(read_parquet_metadata(layout.matrix).get("pass_threshold", threshold))
    out = collapse(df, threshold)
    if out.empty:
        raise DDCFError(f"The verdict table {path} has no usable verdicts (every 'correct' cell is empty).", fix)
    return out.sort_values("question_id", kind="stable").reset_index(drop=True)


def fit_new_model(layout: Layout, ctx: Context, model: str, prior_strength: float) -> tuple[dict, list, list[str]]:
    """The whole fit action: (details, files written, warnings)."""
    verdicts = read_new_verdicts(layout, model)
    ids = verdicts["question_id"].tolist()
    y = verdicts["correct"].to_numpy(np.int64)
    x = seed_embeddings(layout, ctx.pred, ids, f"the verdict table {layout.verdicts(model)}")
    factors = question_factors(ctx.model, x)
    space = row_space(ctx.model, ctx.known_ids)
    fit = fit_row(space, factors, y, ctx.temperature, prior_strength)
    new = add_row(ctx.model, fit)
    warnings = []
    one_class = len(np.unique(y)) < 2
    word = ("correct" if y[0] == 1 else "wrong") if one_class else ""
    if one_class:
        warnings.append(
            f"every one of the {len(y)} answers of {model!r} is {word}: they say how strong the model is overall "
            "but nothing about which questions are harder for it, so the fit only moved its bias"
            + (" (its direction is the known models' average)" if fit.bias_only else " (its row stays near the "
               "known models' average)")
            + f"; its difficulty ranking is the average model's. Probe more or harder/easier questions "
            f"(ddcf probe plan{layout.workdir_option} --model_name {shlex.quote(model)} --num 200) and fit again.")
    p = apply_temperature(fit.logits(space, factors), ctx.temperature)
    date = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    strategy = _plan_strategy(layout.probe_questions(model))
    record = dict(n_answers=len(y), n_correct=int(y.sum()), strategy=strategy, date=date,
                  prior_strength=prior_strength, bias_only=fit.bias_only, verdicts=str(layout.verdicts(model)))
    old = ctx.pred.config
    extra = {k: v for k, v in old.items() if k not in STORE_KEYS}
    extra.update(
        created_by=f"ddcf {__version__} ddcf probe fit (on {old.get('created_by', 'a trained predictor')})",
        models=ctx.pred.models + [model],
        models_with_training_rows=list(old.get("models_with_training_rows") or ctx.pred.models) + [model],
        train_rows_per_model={**(old.get("train_rows_per_model") or {}), model: len(y)},
        cold_started={**(old.get("cold_started") or {}), model: record},
    )
    if one_class:
        extra["one_class_models"] = {**(old.get("one_class_models") or {}), model: word}
    previous = _keep_previous(layout)
    save_predictor(new, layout.predictor_weights, layout.predictor_config, json_safe(extra))
    order = _append_model_order(layout, ctx, model, y)
    details = dict(model=model, model_id=len(ctx.pred.models), n_answers=len(y), n_correct=int(y.sum()),
                   bias_only=fit.bias_only, prior_strength=prior_strength, strategy=strategy,
                   in_sample=dict(accuracy=accuracy(y, p), auc=roc_auc(y, p), log_loss=log_loss(y, p)),
                   datasets=verdicts["dataset"].astype(str).value_counts().to_dict(),
                   previous=str(layout.predictor_previous_dir),
                   n_known_models=len(ctx.known_ids), prior_dims=space.k)
    return details, [layout.predictor_weights, layout.predictor_config, order, *previous], warnings


def _plan_strategy(plan) -> str | None:
    """The strategy recorded in the probe list's header (None: no list, or verdicts from a full run)."""
    if not plan.exists():
        return None
    for line in plan.read_text(encoding="utf-8").splitlines():
        if line.startswith("# strategy:"):
            return line.split(":", 1)[1].split(";")[0].strip()
    return None


def _keep_previous(layout: Layout):
    """Copy the current predictor's files to predictor/previous/ (each file atomically) before replacing them."""
    dest = layout.predictor_previous_dir
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for src in (layout.predictor_weights, layout.predictor_config):
        with atomic_path(dest / src.name) as tmp:
            shutil.copyfile(src, tmp)
        out.append(dest / src.name)
    return out


def _append_model_order(layout: Layout, ctx: Context, model: str, y: np.ndarray):
    mo = read_model_order_table(layout)
    row = {c: None for c in mo.columns}
    row.update(model_id=len(ctx.order), model=model)
    if "n_answered" in mo.columns:
        row["n_answered"] = len(y)
    if "accuracy" in mo.columns:
        row["accuracy"] = round(float(y.mean()), 4)
    return write_model_order(layout, pd.concat([mo, pd.DataFrame([row])], ignore_index=True))
