"""``ddcf probe plan|fit|budget``: cold-start a new target model, or plan a seed budget.

plan reads the trained predictor (``Layout.predictor_config``), the training split's questions
(``Layout.train_split``: never validation or test questions, which measure the predictor) and the seed
embeddings; writes ``Layout.probe_questions(NEW)`` (or ``--questions_out``). fit reads NEW's verdicts and writes
the predictor (previous one in ``Layout.predictor_previous_dir``) and model_order.csv (``ddcf.probe.fit``).
budget is ``ddcf.probe.budget.run_budget``.
"""

from __future__ import annotations

import datetime as _dt
import shlex
import time
from pathlib import Path

import numpy as np

from ddcf.artifacts.matrix import read_model_order, read_split
from ddcf.io import write_text
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.predictor.calibration import apply_temperature
from ddcf.probe.budget import run_budget
from ddcf.probe.config import ProbeConfig
from ddcf.probe.context import load_context, seed_embeddings
from ddcf.probe.fit import fit_new_model
from ddcf.probe.plan import choose
from ddcf.probe.rowfit import information_basis, known_logits, question_factors, row_space

SPLIT_FIX = "rerun create_training_data.py (it writes the train/val/test split) and train_correctness_predictor.py."


def run(layout: Layout, config: ProbeConfig) -> Report:
    config.validate()
    if config.action == "budget":
        return run_budget(layout, config)
    return run_plan(layout, config) if config.action == "plan" else run_fit(layout, config)


def candidates(layout: Layout) -> tuple[list[str], np.ndarray]:
    """The training split's distinct question ids and each one's dataset (the planner's candidates)."""
    df = read_split(layout, "train", read_model_order(layout, SPLIT_FIX))
    ds = df["dataset"].astype(str) if "dataset" in df.columns else None
    first = df.assign(dataset=ds if ds is not None else "all").drop_duplicates("question_id")
    first = first.sort_values("question_id", kind="stable")
    return first["question_id"].astype(str).tolist(), first["dataset"].astype(str).to_numpy()


def run_plan(layout: Layout, config: ProbeConfig) -> Report:
    t0 = time.perf_counter()
    new = config.model_name
    ctx = load_context(layout, new)
    ids, datasets = candidates(layout)
    x = seed_embeddings(layout, ctx.pred, ids, f"the training split {layout.train_split}")
    factors = question_factors(ctx.model, x)
    p_known = apply_temperature(known_logits(ctx.model, factors, ctx.known_ids), ctx.temperature)
    strategy = config.plan_strategy
    g = information_basis(row_space(ctx.model, ctx.known_ids), factors) if strategy == "doptimal" else None
    warnings = []
    if config.num > len(ids):
        warnings.append(f"--num {config.num} is more than the {len(ids)} training-split questions: all of them "
                        "are listed.")
    picks = choose(strategy, config.num, p_known, datasets, config.seed, g, ctx.temperature, config.prior_strength)
    chosen = [ids[i] for i in picks]
    out = Path(config.questions_out) if config.questions_out else layout.probe_questions(new)
    # printed commands run as printed: the work directory when it is not the default, names shell-quoted
    w, q = layout.workdir_option, shlex.quote(new)
    infer = f"python infer.py{w} --model_name {q} --questions {shlex.quote(str(out))}"
    fit = f"ddcf probe fit{w} --model_name {q}"
    date = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    header = [f"# ddcf probe plan: {len(chosen)} probe questions for {new}",
              f"# strategy: {strategy}; predictor weights sha256: {ctx.pred.config.get('weights_sha256')}; "
              f"date: {date}",
              f"# next: {infer}; then {fit}"]
    write_text("\n".join(header + chosen) + "\n", out)
    info = (p_known * (1 - p_known)).mean(1)
    per_ds = {d: int((datasets[picks] == d).sum()) for d in sorted(set(datasets))}
    summary = "\n".join([
        f"probe plan for {new}: {len(chosen)} of {len(ids):,} training-split questions, strategy {strategy} "
        f"(from the predictor's {len(ctx.known_ids)} known models, T = {ctx.temperature:.3f}).",
        "per dataset: " + ", ".join(f"{d} {n}" for d, n in per_ds.items()),
        f"mean p(1-p) over the known models: {info[picks].mean():.3f} on the probe questions vs "
        f"{info.mean():.3f} on all candidates.",
        f"next: {infer}",
        f"then: {fit}",
    ])
    return Report(stage="probe", summary=summary, files=[out], warnings=warnings, config_dir=layout.probe_dir,
                  details=dict(questions=chosen, strategy=strategy, n_candidates=len(ids), per_dataset=per_ds,
                               path=str(out)), seconds=time.perf_counter() - t0)


def run_fit(layout: Layout, config: ProbeConfig) -> Report:
    t0 = time.perf_counter()
    ctx = load_context(layout, config.model_name)
    details, files, warnings = fit_new_model(layout, ctx, config.model_name, config.prior_strength)
    ins = details["in_sample"]
    auc = "n/a" if not np.isfinite(ins["auc"]) else f"{ins['auc']:.3f}"
    summary = "\n".join([
        f"cold-started {details['model']} as model_id {details['model_id']} from {details['n_answers']} answers "
        f"({details['n_correct']} correct; probe strategy {details['strategy'] or 'none recorded'}); question "
        f"encoder and the other {details['model_id']} models frozen (bit-identical).",
        f"prior: the {details['n_known_models']} known models' rows ({details['prior_dims']} directions), strength "
        f"{details['prior_strength']:g}" + ("; one class only: only the bias moved." if details["bias_only"] else "."),
        f"on its own answers (in-sample): accuracy {ins['accuracy']:.3f}, AUC {auc}, log loss {ins['log_loss']:.3f}.",
        f"previous predictor kept in {details['previous']} (copy it back to undo, and drop the last row of "
        f"{layout.model_order}).",
        f"next: python fullcorpus_difficulty_estimation.py{layout.workdir_option} --model_name "
        f"{shlex.quote(details['model'])}",
    ])
    return Report(stage="probe", summary=summary, files=files, warnings=warnings, config_dir=layout.probe_dir,
                  details=details, seconds=time.perf_counter() - t0)
