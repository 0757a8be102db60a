"""``ddcf probe budget``: which (model, question) pairs of the seed matrix to run under a budget.

The full seed matrix (every collaborator on every seed question) is the method's largest cost. Under a
budget of a fraction B of the pairs (``--budget``, or ``--gpu_hours`` converted with the measured generation
speed) the planner spends it as follows:

* ``planned`` (default): a shared **core** of questions that every model answers (``--core_fraction`` of the
  budget; chosen for diversity: greedy k-center, farthest-first, on the question embeddings), then per model
  the **extra** questions where the predictor is least certain, ``p (1 - p)`` with p its calibrated
  P(correct), spread over the k-center cells (a cell's r-th pick counts half as much as its (r-1)-th).
  Without a predictor for a model (none trained yet, or a new collaborator) its extras are spread over the
  cells at random. The intended use is two rounds: run the core, train the
  predictor on it, rerun ``ddcf probe budget`` (the core is the same for a seed) and run the extras;
* ``random``: B of the pairs uniformly at random (the baseline of ``benchmarks/bench_budget.py``).

The plan covers the seed **training** questions only when a split exists (``correctness/matrix.parquet`` has a
``split`` column): validation and test questions are kept out, so the predictor's evaluation stays on complete,
untouched rows; with no split yet every seed question is planned (create_training_data.py splits later).
A model's share of the budget is even across models (``--gpu_hours`` then costs about B of every model's time).
"""

from __future__ import annotations

import difflib
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ddcf.artifacts.matrix import read_matrix, read_model_order
from ddcf.artifacts.seed import read_seed
from ddcf.difficulty.scoring import score_chunks
from ddcf.errors import DDCFError
from ddcf.io import load_embeddings, read_json, write_json, write_parquet, write_text
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.predictor.store import load_predictor
from ddcf.probe.context import seed_text_features

STRATEGIES = ("planned", "random")
#: the paper (App. D): 23 models x 19,470 seed questions took about 11 H100-hours with SGLang
PAPER_GPU_HOURS, PAPER_MODELS, PAPER_QUESTIONS = 11.0, 23, 19_470
PAPER_SECONDS_PER_PAIR = PAPER_GPU_HOURS * 3600 / (PAPER_MODELS * PAPER_QUESTIONS)
#: fewest k-center cells the extras are spread over (a small core would otherwise make very coarse cells)
MIN_CELLS = 32
#: weight of a cell's r-th pick: CELL_DISCOUNT ** r (see spread_pick)
CELL_DISCOUNT = 0.5
BUDGET_FIX = "pass --budget as a fraction of all (model, question) pairs in (0, 1], e.g. 0.25, or --gpu_hours."


@dataclass
class Plan:
    """The planned pairs as index arrays into ``models`` and ``question_ids``."""

    models: list[str]
    question_ids: list[str]
    model: np.ndarray  # int64, index into models
    question: np.ndarray  # int64, index into question_ids
    part: np.ndarray  # "core", "extra" or "random"
    n_available: int  # pairs the budget is a fraction of
    budget: float
    strategy: str
    core_questions: list[str] = field(default_factory=list)
    uncertainty_models: list[str] = field(default_factory=list)  # models whose extras followed the predictor

    def __len__(self) -> int:
        return len(self.model)

    def lists(self) -> dict[str, list[str]]:
        """model -> its planned question ids (core first, then extras in the order they were chosen)."""
        out: dict[str, list[str]] = {m: [] for m in self.models}
        for m, q in zip(self.model, self.question):
            out[self.models[m]].append(self.question_ids[q])
        return out

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"model": np.asarray(self.models, dtype=object)[self.model],
                             "question_id": np.asarray(self.question_ids, dtype=object)[self.question],
                             "part": self.part})


def check_budget(budget: float) -> None:
    if budget is None or not math.isfinite(budget) or not 0.0 < budget <= 1.0:
        raise DDCFError(f"--budget {budget} is not a fraction of the seed matrix in (0, 1].", BUDGET_FIX)


def kcenter_order(x: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-center (farthest-first): the first ``k`` centres in pick order and each row's nearest centre.

    The first centre is random (from ``rng``: one plan per seed); each next one is the row farthest from all
    centres so far, so any prefix is a 2-approximate k-center cover: diverse questions, no near-duplicates."""
    n = len(x)
    k = min(k, n)
    x = np.asarray(x, np.float32)
    sq = np.einsum("ij,ij->i", x, x)
    order = np.empty(k, np.int64)
    nearest = np.zeros(n, np.int64)
    dist = np.full(n, np.inf, np.float32)
    c = int(rng.integers(n))
    for i in range(k):
        order[i] = c
        d = sq - 2.0 * (x @ x[c]) + sq[c]
        closer = d < dist
        dist[closer], nearest[closer] = d[closer], i
        dist[c] = -np.inf  # never picked twice
        c = int(np.argmax(dist))
    return order, nearest


def spread_pick(candidates: np.ndarray, cell: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """``k`` of ``candidates`` (question indices) by score with diminishing returns per cell: the r-th best
    candidate of a cell counts ``score * CELL_DISCOUNT ** r``, so a second question from a cell must be much more
    informative than the best of another cell (diversity without ignoring how uncertain a question is).
    Ties by index."""
    if k <= 0:
        return candidates[:0]
    c, s = cell[candidates], score[candidates]
    by_cell = np.lexsort((candidates, -s, c))  # cell, then best score first
    cs = c[by_cell]
    starts = np.r_[0, np.flatnonzero(np.diff(cs)) + 1]
    rank = np.arange(len(cs)) - np.repeat(starts, np.diff(np.r_[starts, len(cs)]))
    eff = s[by_cell] * CELL_DISCOUNT ** rank
    pos = by_cell[np.lexsort((candidates[by_cell], -eff))]
    return candidates[pos[:k]]


def even_quota(total: int, capacity: np.ndarray) -> np.ndarray:
    """Split ``total`` over models as evenly as their capacities allow (water-filling, ties to lower index)."""
    quota = np.zeros(len(capacity), np.int64)
    left = int(total)
    open_ = capacity > 0
    while left > 0 and open_.any():
        idx = np.flatnonzero(open_)
        share = max(left // len(idx), 1)
        for i in idx:
            take = min(share, capacity[i] - quota[i], left)
            quota[i] += take
            left -= take
            if quota[i] >= capacity[i]:
                open_[i] = False
            if left == 0:
                break
    return quota


def plan_pairs(models: list[str], question_ids: list[str], embeddings: np.ndarray, budget: float,
               core_fraction: float = 0.5, strategy: str = "planned", seed: int = 0,
               p_correct: dict[str, np.ndarray] | None = None, available: np.ndarray | None = None) -> Plan:
    """The pairs to run: exactly ``round(budget * n_available)`` of them (half up, at least one).

    ``embeddings`` has one row per question id; ``p_correct`` maps a model name to its P(correct) on every
    question (models it lacks get spread-out random extras; a name that is not in ``models`` is an error);
    ``available`` (models x questions, bool) restricts the plan to pairs that can be run (the simulation: only
    answered pairs); default all."""
    check_budget(budget)
    if strategy not in STRATEGIES:
        raise DDCFError(f"Unknown budget strategy {strategy!r}.", f"use one of {', '.join(STRATEGIES)}.")
    if not 0.0 <= core_fraction <= 1.0:
        raise DDCFError(f"--core_fraction {core_fraction} is outside [0, 1].", "use e.g. 0.5.")
    n_m, n_q = len(models), len(question_ids)
    if n_m == 0 or n_q == 0:
        raise DDCFError(f"Nothing to plan: {n_m} model(s) and {n_q} question(s).",
                        "list the collaborators (--models or model_order.csv) and the seed questions.")
    if len(embeddings) != n_q:
        raise ValueError(f"{len(embeddings)} embedding rows for {n_q} questions")
    avail = np.ones((n_m, n_q), bool) if available is None else np.asarray(available, bool)
    if avail.shape != (n_m, n_q):
        raise ValueError(f"available has shape {avail.shape}, expected {(n_m, n_q)}")
    unknown = sorted(set(p_correct or {}) - set(models))
    if unknown:
        raise DDCFError(f"The predictions name model(s) that are not being planned: {', '.join(unknown)}.",
                        "plan for those models too, or leave their predictions out.")
    n_avail = int(avail.sum())
    n_budget = max(1, int(math.floor(budget * n_avail + 0.5)))
    rng = np.random.default_rng(seed)
    if strategy == "random":
        flat = np.flatnonzero(avail.ravel())
        pick = np.sort(rng.choice(flat, n_budget, replace=False))
        return Plan(list(models), list(question_ids), pick // n_q, pick % n_q, np.full(len(pick), "random"),
                    n_avail, budget, strategy)
    # Core: whole questions in k-center order while their answers fit in the core's share of the budget.
    per_q = avail.sum(0)
    want_core = int(math.floor(core_fraction * n_budget + 0.5))
    k = min(n_q, max(MIN_CELLS, int(want_core / max(per_q.mean(), 1)) + 1))
    while True:  # k-center order long enough to hold the core (sparse availability may need more questions)
        order, _ = kcenter_order(embeddings, k, np.random.default_rng(seed))
        fits = np.cumsum(per_q[order]) <= want_core
        if not fits.all() or k == n_q:
            break
        k = min(n_q, 2 * k)
    core = order[: int(np.argmin(fits)) if not fits.all() else len(order)]
    cells = order[: max(len(core), MIN_CELLS)]
    cell = _nearest(embeddings, cells)
    taken = np.zeros((n_m, n_q), bool)
    taken[:, core] = avail[:, core]
    chosen: list[tuple[int, np.ndarray, str]] = [(m, core[avail[m, core]], "core") for m in range(n_m)]
    quota = even_quota(n_budget - int(taken.sum()), (avail & ~taken).sum(1))
    used = []
    for m, name in enumerate(models):
        cand = np.flatnonzero(avail[m] & ~taken[m])
        p = None if p_correct is None else p_correct.get(name)
        if p is not None:
            p = np.asarray(p, np.float64)
            if p.shape != (n_q,) or not np.isfinite(p).all():
                raise ValueError(f"p_correct[{name!r}] must be {n_q} finite probabilities")
            score = p * (1.0 - p)  # Bernoulli variance: largest where the predictor is least sure
            used.append(name)
        else:
            score = rng.random(n_q)
        chosen.append((m, spread_pick(cand, cell, score, int(quota[m])), "extra"))
    return Plan(list(models), list(question_ids), np.concatenate([np.full(len(q), m) for m, q, _ in chosen]),
                np.concatenate([q for _, q, _ in chosen]).astype(np.int64),
                np.concatenate([np.full(len(q), part) for _, q, part in chosen]), n_avail, budget, strategy,
                core_questions=[question_ids[i] for i in core], uncertainty_models=used)


def _nearest(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index (into ``centres``) of each row's nearest centre, in blocks to bound memory."""
    x = np.asarray(x, np.float32)
    c = x[centres]
    csq = np.einsum("ij,ij->i", c, c)
    out = np.empty(len(x), np.int64)
    for s in range(0, len(x), 4096):
        b = x[s:s + 4096]
        out[s:s + 4096] = np.argmin(csq[None, :] - 2.0 * b @ c.T, axis=1)
    return out


# --------------------------------------------------------------------------- the stage action
def _read_models(layout: Layout, wanted: list[str] | None) -> list[str]:
    order = None
    if layout.model_order.exists():
        order = read_model_order(layout, "write it with create_training_data.py.")
    if not wanted:
        if not order:
            raise DDCFError(f"No collaborators to plan for: --models is not given and {layout.model_order} does "
                            "not exist.", "pass --models A,B,C (the models that will answer the seed questions).")
        return order
    wanted = list(dict.fromkeys(wanted))
    if order is not None:
        bad = [m for m in wanted if m not in set(order)]
        if bad:
            near = difflib.get_close_matches(bad[0], order, n=1)
            raise DDCFError(
                f"--models names {len(bad)} model(s) that {layout.model_order} does not list: "
                f"{', '.join(map(repr, bad[:5]))}" + (f" (did you mean {near[0]!r}?)." if near else "."),
                f"use names of {layout.model_order}; to plan for a collaborator with no answers yet, add a row "
                "for it to that file (next model_id), or plan in a work dir without one.")
    return wanted


def _pool(layout: Layout) -> tuple[list[str], np.ndarray, dict, int]:
    """The seed questions to plan over (training side of an existing split), their embeddings, the manifest
    and how many val/test questions were left out."""
    fix = "run get_question_embeddings.py (it embeds DDCF_data/seed/questions.parquet) first."
    arr, ids, manifest = load_embeddings(layout.seed_embeddings, "seed embeddings")
    ids = [str(q) for q in ids]
    if layout.seed_questions.exists():
        seed = read_seed(layout, columns=("question_id",), fix=fix)
        missing = set(seed["question_id"]) - set(ids)
        if missing:
            raise DDCFError(f"{len(missing)} seed question(s) of {layout.seed_questions} have no embedding in "
                            f"{layout.seed_embeddings} (e.g. {sorted(missing)[0]!r}).", fix)
        keep = set(seed["question_id"])
    else:
        keep = set(ids)
    held = set()
    if layout.matrix.exists():
        m, _ = read_matrix(layout, columns=("question_id",), optional=("split",))
        if "split" in m.columns:
            held = set(m.loc[m["split"].astype(str) != "train", "question_id"].astype(str))
    rows = [i for i, q in enumerate(ids) if q in keep and q not in held]
    if not rows:
        raise DDCFError("No seed training question is left to plan.", fix)
    return [ids[i] for i in rows], np.asarray(arr[rows], np.float32), manifest or {}, len(keep & held)


def seconds_per_question(layout: Layout, models: list[str]) -> dict[str, tuple[float, str]]:
    """model -> (GPU seconds per seed question, source): measured in its run_summary.json (generation wall time
    over answered questions, at the tokens/s the generation stage recorded) or the paper's average."""
    out = {}
    for m in models:
        path = layout.generation_summary(m)
        rate = None
        if path.exists():
            s = read_json(path, "generation summary", "rerun infer.py --model_name M to rewrite it.")
            t, n = s.get("throughput") or {}, s.get("n_questions") or 0
            if t.get("generation_wall_s") and n:
                rate = (float(t["generation_wall_s"]) / n,
                        f"measured ({t.get('generated_tokens_per_s') or 0:.0f} generated tokens/s)")
        out[m] = rate or (PAPER_SECONDS_PER_PAIR, "paper (11 H100-h / (23 x 19,470) pairs)")
    return out


def _predictions(layout: Layout, models: list[str], x: np.ndarray, manifest: dict,
                 qids: list[str]) -> tuple[dict, list[str]]:
    """Calibrated P(correct) of the trained predictor for the planned models it knows; (predictions, notes)."""
    if not layout.predictor_config.exists():
        return {}, ["no trained predictor: the extras are spread over the k-center cells at random. Run the "
                    "core, train the predictor on it and rerun ddcf probe budget for uncertainty-directed extras."]

    pred = load_predictor(layout.predictor_config, layout.predictor_weights)
    if (pred.embedding.get("embedding_model") or None) not in (None, manifest.get("embedding_model")):
        return {}, [f"the predictor was trained on {pred.embedding.get('embedding_model')} embeddings, the seed "
                    f"embeddings are {manifest.get('embedding_model')}: its predictions are not used."]
    known = [m for m in models if m in set(pred.models)]
    if not known:
        return {}, ["the trained predictor knows none of the planned models: their extras are random."]
    index = {m: i for i, m in enumerate(pred.models)}
    text = seed_text_features(layout, pred, list(qids))
    p = score_chunks(pred, x, [index[m] for m in known], progress=False, text=text)
    notes = [] if len(known) == len(models) else [
        f"{len(models) - len(known)} model(s) unknown to the predictor get random, spread-out extras."]
    return {m: p[i] for i, m in enumerate(known)}, notes


def run_budget(layout: Layout, config) -> Report:
    """Plan the seed matrix under ``config.budget`` (or ``config.gpu_hours``); write one list per model."""
    t0 = time.perf_counter()
    if (config.budget is None) == (config.gpu_hours is None):
        raise DDCFError("ddcf probe budget needs exactly one of --budget and --gpu_hours.", BUDGET_FIX)
    models = _read_models(layout, config.models)
    qids, x, manifest, n_held = _pool(layout)
    rates = seconds_per_question(layout, models)
    full_hours = sum(rates[m][0] for m in models) * len(qids) / 3600
    warnings = []
    budget = config.budget
    if config.gpu_hours is not None:
        if not math.isfinite(config.gpu_hours) or config.gpu_hours <= 0:
            raise DDCFError(f"--gpu_hours {config.gpu_hours} is not a positive number of hours.", BUDGET_FIX)
        budget = min(1.0, config.gpu_hours / full_hours)
        if config.gpu_hours >= full_hours:
            warnings.append(f"--gpu_hours {config.gpu_hours:g} covers the whole matrix (~{full_hours:.2f} GPU-h): "
                            "every pair is planned.")
    strategy = config.budget_strategy
    preds, notes = _predictions(layout, models, x, manifest, qids) if strategy == "planned" else ({}, [])
    plan = plan_pairs(models, qids, x, budget, config.core_fraction, strategy, config.seed, preds)
    warnings += notes
    lists = plan.lists()
    paths = Layout.check_distinct_paths(models, layout.probe_budget_list)
    frame = plan.frame()
    counts = frame.groupby(["model", "part"]).size().unstack(fill_value=0)
    date = time.strftime("%Y-%m-%dT%H:%M:%S")
    hours = {m: len(lists[m]) * rates[m][0] / 3600 for m in models}
    for m, path in zip(models, paths):
        head = (f"# ddcf probe budget: {len(lists[m])} seed questions for {m} (core "
                f"{int(counts.get('core', pd.Series()).get(m, 0))}, strategy {strategy}, budget {budget:.4g}, "
                f"seed {config.seed}, {date}); run: infer.py --model_name {m} --questions {path.name}\n")
        write_text(head + "".join(q + "\n" for q in lists[m]), path)
    write_parquet(frame, layout.probe_budget_plan, metadata={"strategy": strategy, "budget": budget})
    sources = sorted({rates[m][1] for m in models})
    summary = dict(strategy=strategy, budget=budget, seed=config.seed, core_fraction=config.core_fraction,
                   n_models=len(models), n_questions=len(qids), n_heldout_questions_excluded=n_held,
                   n_pairs=len(plan), n_full_pairs=plan.n_available, share=len(plan) / plan.n_available,
                   n_core_questions=len(plan.core_questions), uncertainty_models=plan.uncertainty_models,
                   pairs_per_model={m: len(lists[m]) for m in models}, gpu_hours=sum(hours.values()),
                   gpu_hours_full=full_hours, gpu_hours_per_model=hours, gpu_hours_source=sources, date=date)
    jpath = write_json(summary, layout.probe_budget_plan.with_suffix(".json"))
    lines = [f"seed budget ({strategy}): {len(plan):,} of {plan.n_available:,} pairs "
             f"({100 * summary['share']:.1f}%) for {len(models)} models x {len(qids):,} seed training questions"
             + (f" ({n_held} val/test questions left out)" if n_held else ""),
             f"  core: {len(plan.core_questions)} questions every model answers; extras directed by the predictor "
             f"for {len(plan.uncertainty_models)} of {len(models)} models",
             f"  estimated GPU time: {summary['gpu_hours']:.2f} h of {full_hours:.2f} h for the full matrix "
             f"(per-question time: {'; '.join(sources)})",
             f"  {'model':<40} {'pairs':>7} {'core':>6} {'extra':>6} {'GPU-h':>7}"]
    for m in models:
        c = counts.loc[m] if m in counts.index else pd.Series(dtype=int)
        lines.append(f"  {m[:40]:<40} {len(lists[m]):>7} {int(c.get('core', 0)):>6} "
                     f"{int(c.get('extra', 0) + c.get('random', 0)):>6} {hours[m]:>7.2f}")
    lines.append(f"  next: python infer.py{layout.workdir_option} --model_name M --questions "
                 f"{layout.probe_budget_dir}/<M>.txt for each model M")
    return Report(stage="probe", summary="\n".join(lines), files=[*paths, layout.probe_budget_plan, jpath],
                  warnings=warnings, config_dir=layout.probe_budget_dir, details=summary,
                  seconds=time.perf_counter() - t0)
