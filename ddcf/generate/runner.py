r"""Stage 1, generate half: answer every seed question with one model, checkpointed, then verify.

Flow of :func:`run_generation`:

1. Read ``Layout.seed_questions`` (optionally the first ``limit`` rows), order
   them by dataset, then question length, then id: questions of a dataset share
   the few-shot prefix, so the engine's prefix cache hits, and similar lengths
   batch well.
2. Cut the ordered list into fixed shards (with ``--questions FILE`` too: the
   list only picks which questions of each shard are generated, see
   :func:`ddcf.generate.shards.shard_held_ids`).  ``run_config.json`` records the
   settings; a resume with other settings is refused (DDCFError suggesting
   ``--overwrite``).  Finished shards are skipped.
3. For each remaining shard: build prompts (:mod:`ddcf.generate.prompts`;
   ``--prompt_style reference``, the default, as the released infer.py), generate
   ``n`` completions per question, then for completions without a boxed answer
   generate a short greedy follow-up after "The final answer is $\boxed{" and
   append it (:mod:`ddcf.generate.completions` says how each style does it), and
   write the shard atomically.
4. Verify all completions with :func:`ddcf.verify.generated.verify_generations` (each
   distinct (question, completion) once), write the per-model verdict table
   (plus a ``sample`` column when n > 1), the pass-rate table when n > 1,
   ``verified.json`` and ``run_summary.json``.

A model is *complete* when every shard (with ``--questions``: every listed
question) is answered and ``verified.json`` names this configuration, the
answered question set and the current verdict file's content hash; then the run
is skipped without loading the model.  The verdict table always covers every
answered question, listed in this run or an earlier one; its metadata and
``run_summary.json`` say how much of the seed set that is (``partial``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from ddcf.errors import DDCFError
from ddcf.executors.jobs.generate import generate_with_executor, worker_gpus
from ddcf.generate import prompts as P
from ddcf.generate.completions import GenerateRecipe
from ddcf.generate.config import GenerateConfig
from ddcf.generate.passrate import mean_pass_at_k, pass_rates, write_pass_rates
from ddcf.generate.questions import listed_questions, load_seed_questions, order_questions
from ddcf.generate.report import length_report, throughput
from ddcf.generate.shards import stage_files
from ddcf.io import file_sha256, hash_ids, write_json
from ddcf.layout import Layout
from ddcf.runs.backends import Backend, create_backend, get_backend_class
from ddcf.runs.engine import OVERWRITE
from ddcf.runs.folder import (
    BOOKKEEPING,
    SHARD_GLOB,
    ShardPlan,
    clear_run,
    open_run,
    read_shards,
    remove_stale_tmp,
    run_lock,
    settings_sha256,
    shard_metadata,
)
from ddcf.runs.shard import ShardTask, run_shards
from ddcf.verify.generated import verify_generations, write_verdict_table
from ddcf.verify.grade import grade_completions


@dataclass
class RunResult:
    status: str  # 'done' | 'skipped' | 'foreign'
    model: str
    message: str = ""
    summary: dict | None = None
    verdicts_path: Path | None = None


# --------------------------------------------------------------------------- run config
def run_config(config: GenerateConfig, ordered: pd.DataFrame, backend_name: str) -> dict:
    """What the shards are generated with; the enforced part must match on resume.

    The ``ddcf`` style writes exactly the keys it wrote before prompt styles existed (same ``config_sha256``, so
    its old shards stay valid); the ``reference`` style adds its own, so the two never share shards."""
    sampling = {
        "n": config.n, "temperature": config.temperature, "max_new_tokens": config.max_new_tokens,
        "top_p": 1.0 if config.greedy else config.top_p, "top_k": -1 if config.greedy else config.top_k,
        "seed": None if config.greedy else config.seed, "stop": list(config.stop_strings("<eos_token>")),
    }
    with_choice = (bool((ordered["dataset"].astype(str) == "choice").any()) if "dataset" in ordered.columns
                   else False)
    if config.reference:
        followup = {"suffix": P.REFERENCE_FOLLOWUP_SUFFIX, "max_new_tokens": config.resolved_followup_max_tokens,
                    "stop": "main"}
    else:
        followup = {"suffix": P.FOLLOWUP_SUFFIX, "max_new_tokens": config.resolved_followup_max_tokens,
                    "stop": list(P.FOLLOWUP_STOP)}
    enforced = {
        "model": config.model_name,
        "prompts_sha256": P.prompts_fingerprint(config.chat_template, with_choice=with_choice,
                                                style=config.prompt_style),
        "chat_template": config.chat_template,
        "max_prompt_tokens": config.max_prompt_tokens,
        "sampling": sampling,
        "followup": followup,
        "question_ids_sha256": hash_ids(ordered["question_id"]),
        "n_questions": int(len(ordered)),
        "shard_size": config.shard_size,
    }
    if config.reference:
        enforced["prompt_style"] = config.prompt_style
        enforced["context_length"] = config.resolved_context_length
        # the released exemplar choice reads the seed table's type column: other types, other prompts
        enforced["types_sha256"] = hash_ids(ordered["type"]) if "type" in ordered.columns else None
    elif config.context_length is not None:
        enforced["context_length"] = config.context_length
    return {**enforced, "config_sha256": settings_sha256(enforced), "format": 1,
            "info": {"backend": backend_name, "dtype": config.dtype, "tensor_parallel_size":
                     config.tensor_parallel_size, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}}


def verdicts_match(layout: Layout, model: str, config_sha256: str, answered_sha256: str, full_sha256: str) -> bool:
    """The verdict table is this configuration's and covers exactly the answered questions (markers written
    before ``--questions`` existed lack the key; such runs answered the whole seed set)."""
    marker = layout.generation_verified(model)
    v = layout.verdicts(model)
    if not marker.exists() or not v.exists():
        return False
    try:
        m = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return (m.get("config_sha256") == config_sha256 and m.get("answered_sha256", full_sha256) == answered_sha256
            and m.get("verdicts_sha256") == file_sha256(v))


# --------------------------------------------------------------------------- engine
def resolve_parallelism(config: GenerateConfig, backend_name: str) -> int:
    """dp default: all visible GPUs // tp (:meth:`ddcf.runs.engine.EngineOptions.parallelism`)."""
    return config.parallelism(backend_name)


def make_backend(config: GenerateConfig, backend_name: str, dp: int) -> Backend:
    opts = config.backend_options(data_parallel_size=dp, context_length=config.resolved_context_length)
    return create_backend(backend_name, config.model_name, opts)


def _explain_mismatch(layout: Layout, model: str):
    """A resume across --prompt_style gets its own message (the default changed under earlier runs)."""
    def explain(old: dict, new: dict, n_kept: int) -> DDCFError | None:
        old_style, new_style = old.get("prompt_style") or "ddcf", new.get("prompt_style") or "ddcf"
        if old_style == new_style:
            return None
        return DDCFError(
            f"The generations in {layout.generations(model)} were made with --prompt_style {old_style}, this "
            f"run uses --prompt_style {new_style} (its prompts, stop strings and follow-up differ; the default "
            "became reference, the released infer.py's).",
            f"add --prompt_style {old_style} to resume them ({n_kept} finished shard(s) are kept), or "
            f"{OVERWRITE} to delete them and start over with --prompt_style {new_style}.")
    return explain


# --------------------------------------------------------------------------- main entry
def run_generation(
    layout: Layout,
    config: GenerateConfig,
    *,
    backend: Backend | None = None,
    grade_fn: Callable[..., pd.DataFrame] | None = None,
    on_shard_written: Callable[[int, Path], None] | None = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Generate (resuming), verify and summarise one model.  See the module docstring."""
    config.validate()
    model = config.require_model()
    backend_name = backend.name if backend is not None else config.resolved_backend()
    if backend is None:
        get_backend_class(backend_name)  # unknown names fail before any work
    questions = load_seed_questions(layout, config.limit)
    # --questions narrows what is generated, not the plan: shards stay slices of the whole (ordered) seed set
    # and run_config.json stays the full run's, so list runs and full runs resume one another.
    listed = listed_questions(questions, config.questions, config.limit) if config.questions else None
    ordered = order_questions(questions)
    plan = ShardPlan(tuple(ordered["question_id"]), config.shard_size)
    rc = run_config(config, ordered, backend_name)
    gen_dir = layout.generations(model)
    t_start = time.perf_counter()

    with run_lock(gen_dir):
        if config.overwrite:
            n = clear_run(gen_dir, stage_files(layout, model))
            if n:
                log(f"{OVERWRITE}: deleted {n} finished shard(s) of {model}")
        remove_stale_tmp(gen_dir)
        if (not layout.generation_run_config(model).exists() and layout.verdicts(model).exists()
                and not any(gen_dir.glob(SHARD_GLOB))):
            msg = (f"{model}: a verdict table already exists ({layout.verdicts(model)}) that this generation stage "
                   f"did not write (precomputed or downloaded); skipping. Add {OVERWRITE} to replace it "
                   "with fresh generations.")
            return RunResult("foreign", model, msg, verdicts_path=layout.verdicts(model))
        settings = {k: v for k, v in rc.items() if k not in BOOKKEEPING}
        changed_list = " (the question list changed: a different --limit or a new seed question table)"
        run = open_run(gen_dir, settings, what="generations", info=rc["info"], explain=_explain_mismatch(layout, model),
                       hints={"question_ids_sha256": changed_list, "n_questions": changed_list})
        held = [run.held_ids(i, plan.ids(i), config.n) for i in range(plan.n_shards)]
        wanted = [plan.ids(i) if listed is None else tuple(q for q in plan.ids(i) if q in listed)
                  for i in range(plan.n_shards)]
        todo = [[q for q in w if q not in hs] for w, hs in zip(wanted, map(set, held))]
        done = [not t for t in todo]
        answered = sorted({q for h, w in zip(held, wanted) for q in (*h, *w)})
        if all(done) and not config.regrade and verdicts_match(
                layout, model, rc["config_sha256"], hash_ids(answered), hash_ids(sorted(plan.question_ids))):
            what = f"all {len(listed)} listed question(s) answered" if listed is not None else "already complete"
            msg = (f"{model}: {what} ({len(answered)} of {len(plan.question_ids)} seed questions, verdicts in "
                   f"{layout.verdicts(model)}); skipping. Use --regrade to grade again or {OVERWRITE} to "
                   "start over.")
            return RunResult("skipped", model, msg, verdicts_path=layout.verdicts(model))
        pending = [i for i, d in enumerate(done) if not d]
        if config.regrade and pending:
            raise DDCFError(
                f"--regrade needs finished generations, but {sum(map(len, todo))} {'listed ' * bool(listed)}"
                f"question(s) of {model} ({len(pending)} of {plan.n_shards} shard(s)) are not answered yet.",
                "rerun without --regrade to finish (resume) the generation first.")

        load_s = 0.0
        backend_info: dict = {}
        # --executor ray: the workers load the engine, not this process (a backend passed in runs here)
        spread = bool(pending) and backend is None and config.executor != "local"
        def make_tasks(info: dict) -> list[ShardTask]:
            return [ShardTask(str(gen_dir), settings, i, _rows(ordered, plan, i, todo[i]), plan.ids(i), held[i],
                              {"model": config.model_name, "backend": info,
                               "created": time.strftime("%Y-%m-%dT%H:%M:%S")}) for i in pending]

        if spread:
            tasks = make_tasks({"backend": backend_name})  # each worker puts its engine's info in its shards
            log(f"{model}: {len(pending)} shard(s) on {config.executor} workers "
                f"({worker_gpus(config, backend_name):g} GPU(s) each) ...")
            job = generate_with_executor(config.executor_for(), tasks, GenerateRecipe(config), config, model,
                                         backend_name, context_length=config.resolved_context_length,
                                         gpus=worker_gpus(config, backend_name), progress=config.progress)
            backend_info = next((s.info for s in job.stats if s.info), {"backend": backend_name})
            for line in job.lines("q"):
                log(line)
        elif pending:
            own = backend is None
            if own:
                dp = resolve_parallelism(config, backend_name)
                log(f"{model}: loading the {backend_name} backend (tp={config.tensor_parallel_size}, dp={dp}) ...")
                t0 = time.perf_counter()
                backend = make_backend(config, backend_name, dp)
                load_s = time.perf_counter() - t0
            backend_info = backend.info()
            if listed is not None:
                log(f"{model}: {len(listed)} listed question(s), {sum(map(len, todo))} not answered yet")
            elif sum(done):
                log(f"{model}: resuming, {sum(done)} of {plan.n_shards} shard(s) already done")
            tasks = make_tasks(backend_info)
            try:
                run_shards(tasks, lambda: backend, GenerateRecipe(config), desc=f"shards of {config.model_name}",
                           progress=config.progress, on_written=None if on_shard_written is None else
                           (lambda task, path: on_shard_written(task.index, path)))
            finally:
                if own:
                    backend.close()

        present = [i for i in range(plan.n_shards) if held[i] or wanted[i]]
        coverage = _coverage(config, plan, listed, answered)
        gens = read_shards(gen_dir, present)
        _check_complete(gens, answered, config.n, gen_dir)
        log(f"{model}: verifying {len(gens)} completion(s) ...")
        verdicts = verify_generations(
            gens, model, grade_fn or grade_completions, n_samples=config.n,
            cache_path=None if config.regrade else layout.verify_cache,
            timeout=config.timeout, workers=config.workers, progress=config.progress)
        vpath = write_verdict_table(
            layout, model, verdicts, n_samples=config.n, source=f"generate:{backend_name}",
            timeout=config.timeout,
            extra={"config_sha256": rc["config_sha256"], "n_samples": config.n, **coverage,
                   "generations": str(gen_dir.relative_to(layout.root)) if gen_dir.is_relative_to(layout.root)
                   else str(gen_dir)})
        table = pass_rates(verdicts)
        if config.n > 1:
            write_pass_rates(layout, model, table, {"n": config.n, "temperature": config.temperature,
                                                    "config_sha256": rc["config_sha256"]})
        write_json({"config_sha256": rc["config_sha256"], "verdicts_sha256": file_sha256(vpath),
                    "answered_sha256": hash_ids(answered), "n_answered": len(answered),
                    "n_rows": int(len(verdicts)), "verified_at": time.strftime("%Y-%m-%dT%H:%M:%S")},
                   layout.generation_verified(model))
        summary = _summary(model, config, rc, gens, verdicts, table, gen_dir, plan, present, coverage,
                           backend_info or {"backend": backend_name}, load_s, time.perf_counter() - t_start,
                           len(pending), sum(map(len, todo)))
        write_json(summary, layout.generation_summary(model))
    return RunResult("done", model, f"{model}: done", summary=summary, verdicts_path=vpath)


def _rows(ordered: pd.DataFrame, plan: ShardPlan, i: int, todo: list[str]) -> pd.DataFrame:
    """The questions of shard ``i`` still to generate (all of its slice, or the missing part of it)."""
    a, b = plan.bounds(i)
    part = ordered.iloc[a:b]
    if len(todo) < len(part):  # a --questions run, or a shard an earlier one filled in part
        part = part[part["question_id"].isin(todo)]
    return part


def _check_complete(gens: pd.DataFrame, answered: list[str], n: int, gen_dir: Path) -> None:
    expected = len(answered) * n
    if len(gens) != expected or set(gens["question_id"]) != set(answered):
        raise DDCFError(f"The shards in {gen_dir} hold {len(gens)} completions, expected {expected}.",
                        "rerun with --overwrite.")


def _coverage(config: GenerateConfig, plan: ShardPlan, listed, answered: list[str]) -> dict:
    """Which part of the seed set the verdict table answers (a --questions run may leave some unanswered)."""
    return {"n_seed_questions": len(plan.question_ids), "n_answered_questions": len(answered),
            "partial": len(answered) < len(plan.question_ids), "questions_file": config.questions,
            "n_listed_questions": None if listed is None else len(listed)}


def _summary(model, config, rc, gens, verdicts, table, gen_dir, plan, present, coverage, backend_info, load_s,
             wall_s, n_generated, n_questions_generated) -> dict:
    meta = shard_metadata(gen_dir, present)
    acc_by = verdicts.groupby("dataset")["correct"].mean()
    summary = {
        "model": model,
        "backend": backend_info.get("backend"),
        "backend_info": backend_info,
        "n_questions": coverage["n_answered_questions"],
        "coverage": coverage,
        "n_samples": config.n,
        "settings": {**{k: rc[k] for k in ("sampling", "max_prompt_tokens", "chat_template", "shard_size",
                                           "followup", "prompts_sha256", "question_ids_sha256")},
                     "prompt_style": config.prompt_style, "context_length": config.resolved_context_length},
        "config_sha256": rc["config_sha256"],
        "throughput": throughput(meta),
        "this_run": {"wall_s": wall_s, "model_load_s": load_s, "shards_generated": n_generated,
                     "questions_generated": n_questions_generated},
        "accuracy": float(verdicts["correct"].mean()),
        "accuracy_by_dataset": {str(k): float(v) for k, v in acc_by.items()},
        "status_counts": {str(k): int(v) for k, v in verdicts["status"].value_counts().items()},
        "prompts_truncated": int(gens.loc[gens["sample"] == 0, "prompt_truncated"].sum()),
        "length_report": length_report(gens, config.max_new_tokens),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if config.n > 1:
        ks = sorted({k for k in (1, 2, 4, 8, 16, 32, 64, config.n) if k <= config.n})
        summary["pass_at_k"] = {f"pass@{k}": mean_pass_at_k(table, k) for k in ks}
    return summary
