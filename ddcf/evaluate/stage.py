"""``eval/evaluate.py``: generate on each benchmark (resumable shards), verify, pass@k, Table 2.

Flow of :func:`run`:

1. Resolve the benchmarks, their samples per question (``--n`` or 64 for AIME24/AMC23, 1 otherwise) and the
   reported k; check the seed/benchmark overlap (:mod:`ddcf.evaluate.overlap`).
2. Per benchmark, cut its questions into fixed shards under ``<output_dir>/shards/<benchmark>/`` (the shard
   store of the run toolkit, :mod:`ddcf.runs`); ``run_config.json`` records the settings and a resume with
   other settings is refused (``--overwrite`` starts over).  The engine is loaded only if some shard is missing.
3. Grade every completion with the project's verifier (:mod:`ddcf.evaluate.scoring`), write
   ``predictions.parquet`` and ``results.{json,md,csv}``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from ddcf.artifacts import eval_run
from ddcf.evaluate import benchmarks as B
from ddcf.evaluate import prompts as EP
from ddcf.evaluate import scoring, tables
from ddcf.evaluate.config import EvaluateConfig
from ddcf.evaluate.generation import EvalRecipe, followup_sampling, sampling, think_sampling
from ddcf.evaluate.overlap import overlap_warnings
from ddcf.executors.jobs.generate import generate_with_executor, worker_gpus
from ddcf.io import hash_ids
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.runs.backends import check_model_reference, get_backend_class
from ddcf.runs.engine import open_engine
from ddcf.runs.folder import ShardPlan, open_run, run_lock
from ddcf.runs.shard import ShardTask, run_shards
from ddcf.verify.equivalence import Verifier
from ddcf.verify.reference.grader import ReferenceGrader

PREDICTION_COLUMNS = ["benchmark", "question_id", "sample", "completion", "prediction", "correct", "gold", "status",
                      "followup", "finish_reason", "completion_tokens", "prediction_strict", "correct_strict",
                      "status_strict", "prompt"]


def plan_benchmarks(config: EvaluateConfig) -> tuple[list[dict], list[str]]:
    """Per benchmark: samples, reported ks and headline k; plus warnings."""
    ks, warnings, plans = config.k_values, [], []
    for b in B.resolve(config.benchmarks):
        n = config.n or b.samples
        head = None
        if b.k is not None:
            head = next((k for k in ks if k <= n), None) if ks else b.k
            if head is None or head > n:
                warnings.append(f"{b.column}: pass@{b.k} needs {b.k} samples per question, this run has {n}; "
                                f"reporting pass@{min(b.k, n)} instead.")
                head = min(b.k, n)
        plans.append({"bench": b, "n": n, "ks": sorted({k for k in ks + ([head] if head else []) if k <= n}),
                      "headline_k": head or 1})
    return plans, warnings


def run_config(config: EvaluateConfig, bench_name: str, ids: list[str], n: int, eos: list[int]) -> dict:
    """What a benchmark's shards are generated with: the settings its run folder is keyed on (stage 1's keys)."""
    enforced = {
        "model": config.model_name, "prompts_sha256": EP.fingerprint(config.chat_template, config.schedule),
        "chat_template": config.chat_template, "max_prompt_tokens": None,
        "sampling": {**sampling(config, n, eos).to_dict(), "stop_token_ids": None, "benchmark": bench_name},
        "followup": {**followup_sampling(config, eos).to_dict(), "stop_token_ids": None, "schedule": config.schedule,
                     **({"think": {**think_sampling(config, eos).to_dict(), "stop_token_ids": None}}
                        if config.schedule == "reference" else {})},
        "question_ids_sha256": hash_ids(ids), "n_questions": len(ids), "shard_size": config.shard_size,
    }
    return enforced


class _LazyBackend:
    """Loads the engine the first time a shard is missing (a finished run never loads the model)."""

    def __init__(self, config: EvaluateConfig, log):
        self.config, self.log, self.backend, self.load_s = config, log, None, 0.0
        self.name = config.resolved_backend()
        self._make = lambda: open_engine(config, config.model_name, self.name)

    def get(self):
        if self.backend is None:
            t0 = time.perf_counter()
            self.log(f"{self.config.model_name}: loading the {self.name} backend ...")
            self.backend = self._make()
            EP.renderer(self.backend.tokenizer, self.config.chat_template)  # no template: error before generating
            self.load_s = time.perf_counter() - t0
        return self.backend

    def close(self):
        if self.backend is not None:
            self.backend.close()


def preflight(config: EvaluateConfig) -> None:
    """Bad model paths and template-less tokenizers fail here, before any engine loads."""
    check_model_reference(config.model_name)
    cls = get_backend_class(config.resolved_backend())
    tok = cls.load_tokenizer(config.model_name, config.backend_options())
    EP.renderer(tok, config.chat_template)


def run(layout: Layout, config: EvaluateConfig, *, backend=None, on_shard_written=None, log=print) -> Report:
    t_start = time.perf_counter()
    model = config.model_name
    out_dir = Path(config.output_dir) if config.output_dir else layout.eval_dir(model)
    plans, warnings = plan_benchmarks(config)
    questions = {p["bench"].name: B.load(p["bench"], config.limit) for p in plans}
    columns = {p["bench"].name: p["bench"].column for p in plans}
    more, overlaps = overlap_warnings(model, layout, {k: v["question"] for k, v in questions.items()}, columns)
    warnings += more
    lazy = _LazyBackend(config, log)
    if backend is not None:
        lazy.backend, lazy.name = backend, backend.name
    else:
        preflight(config)
    verifier = Verifier(timeout=config.timeout, workers=config.workers, cache_path=layout.verify_cache,
                        progress=False)
    reference = None
    if config.grader == "reference":
        # the released evaluation extracts with its last-number fallback (stage 1 does not)
        reference = ReferenceGrader(timeout=config.timeout, workers=config.workers, last_number=True)
    per_bench, frames, n_generated = {}, [], 0
    try:
        for p in plans:
            b, n = p["bench"], p["n"]
            qs = questions[b.name]
            gen_dir = Layout.eval_shards(out_dir, b.name)
            plan = ShardPlan(tuple(qs["question_id"]), config.shard_size)
            with run_lock(gen_dir):
                # eos ids are part of the settings only through the tokenizer; keep them out of the hash
                run = open_run(gen_dir, run_config(config, b.name, list(plan.question_ids), n, []),
                               what="completions", start_over=config.overwrite,
                               alternatives="pass another --output_dir")
                tasks = [ShardTask(str(gen_dir), run.settings, i, qs.iloc[slice(*plan.bounds(i))],
                                   meta={"benchmark": b.name, "model": model}) for i in range(plan.n_shards)
                         if not run.shard_done(i, plan.ids_hash(i), len(plan.ids(i)) * n)]
                recipe = EvalRecipe(config, n, {t: scoring.GRADING[t] for t in B.ANSWER_TYPES})
                if tasks and backend is None and config.executor != "local":  # the workers load the engine
                    job = generate_with_executor(config.executor_for(), tasks, recipe, config, model, lazy.name,
                                                 gpus=worker_gpus(config, lazy.name), progress=config.progress)
                    n_generated += len(tasks)
                    log("\n".join(job.lines("q")))
                else:
                    n_generated += run_shards(
                        tasks, lazy.get, recipe, desc=f"{b.name} shards", progress=config.progress,
                        on_written=None if on_shard_written is None else
                        (lambda task, path, _b=b.name: on_shard_written(_b, task.index, path)))
                gens = run.read_shards(plan.n_shards)
            verdicts = scoring.grade_benchmark(gens, model, verifier, n, reference)
            m = scoring.metrics(verdicts, p["ks"])
            head = f"pass@{p['headline_k']}"
            per_bench[b.name] = {"column": b.column, "role": b.role, **m, "headline_metric": head,
                                 "headline": m[head], "grader": config.grader, "seed_overlap": overlaps.get(b.name, 0)}
            verdicts = verdicts.merge(gens[["question_id", "sample", "prompt"]], on=["question_id", "sample"],
                                      how="left", validate="one_to_one")
            frames.append(verdicts.assign(benchmark=b.name)[PREDICTION_COLUMNS])
    finally:
        verifier.close()
        if reference is not None:
            reference.close()
        lazy.close()
    return _write_outputs(layout, config, out_dir, per_bench, frames, warnings, lazy,
                          time.perf_counter() - t_start, n_generated)


def _write_outputs(layout, config, out_dir, per_bench, frames, warnings, lazy, wall_s, n_generated) -> Report:
    model = config.model_name
    preds = pd.concat(frames, ignore_index=True)
    preds["correct"] = preds["correct"].astype(bool)
    results = {"model": model, "backend": lazy.name, "output_dir": str(out_dir), "benchmarks": per_bench,
               "settings": config.to_dict(include_run_only=False), "warnings": warnings,
               "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "this_run": {"wall_s": wall_s, "model_load_s": lazy.load_s, "shards_generated": n_generated}}
    row = tables.table_row(results)
    results["table"] = row
    results["table_strict_pass@1"] = strict_row = tables.table_row(results, "pass@1_strict")
    name = Path(model).name or model
    md = tables.markdown([f"{name} ({config.grader} grader)", f"{name} (strict grader, pass@1)"], [row, strict_row],
                         [tables.flagged_columns(results)] * 2, mark_best=False, headers=tables.headline_names(results))
    files = eval_run.write_results(out_dir, preds, model, results, md, tables.frame([model], [row]))
    lines = [f"Evaluation of {model} ({lazy.name} backend), {wall_s:.0f} s:", "", md]
    for name, r in per_bench.items():
        ks = ", ".join(f"{k} {100 * v:.1f}" for k, v in r.items() if k.startswith("pass@"))
        lines.append(f"  {name:<14} {r['n_questions']:>5} questions x {r['n_samples']:>2}  {ks}  "
                     f"(follow-ups {r['followups']}, no answer {r['no_answer']})")
    return Report(stage="evaluate", summary="\n".join(lines), files=files, warnings=warnings, config_dir=out_dir,
                  details={"results": results, "predictions": preds})
