"""``ddcf distill SELECTION_DIR --teacher M``: teacher responses for exactly the selected questions.

Reads  SELECTION_DIR/selection.parquet, report.json       (ddcf select)
       DDCF_data/corpus/questions.parquet                  question_id, question (+ answer, answer_type, dataset)
Writes SELECTION_DIR/distilled/ (paths from the Layout):
       shards/shard-NNNNN.parquet, run_config.json          checkpoints (a killed run resumes after the last one)
       dataset/                                            SFT dataset, the columns of ddcf.select.sft_dataset
       distill.json                                        provenance, acceptance rate, teacher-token cost
       distill.config.yaml
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import pandas as pd

from ddcf import __version__
from ddcf.distill import teacher  # the module attribute (teacher.distill_shard): a test can interrupt a shard
from ddcf.distill.config import DistillConfig
from ddcf.distill.inputs import read_selection, selected_questions
from ddcf.distill.sharded import distill_with_executor
from ddcf.distill.teacher import SHARD_COLUMNS, sampling_spec
from ddcf.errors import DDCFError
from ddcf.evaluate import prompts as EP
from ddcf.io import hash_ids, write_json
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.runs.backends import ENGINE_PACKAGES, get_backend_class, require_engine
from ddcf.runs.engine import open_engine
from ddcf.runs.folder import ShardPlan, open_run, run_lock
from ddcf.runtime import progress as progress_bar
from ddcf.select.sft_dataset import build_records, render_chatml, save_dataset_atomic
from ddcf.verify.equivalence import Verifier


def run_config(config: DistillConfig, backend_name: str, sel_ids: list[str], attempts: int, eos: list[int]) -> dict:
    """What decides a shard's content; a resume must match it."""
    return dict(teacher=config.teacher, backend=backend_name, thinking=config.thinking,
                prompts_sha256=EP.fingerprint(config.chat_template), chat_template=config.chat_template,
                sampling=sampling_spec(config, eos).to_dict(), verify_responses=config.verify_responses,
                attempts=attempts, shard_size=config.shard_size, question_ids_sha256=hash_ids(sel_ids),
                n_questions=len(sel_ids))


def cost_report(shards: pd.DataFrame, corpus_size: int) -> dict:
    """Teacher tokens spent on the selection vs the whole corpus (the selection's mean per question x size)."""
    n = len(shards)
    tokens = int(shards["tokens_generated"].sum())
    responses = int(shards["n_responses"].sum())
    per_question = tokens / n if n else 0.0
    corpus = int(round(per_question * corpus_size))
    return dict(teacher_tokens_generated=tokens, responses_generated=responses,
                mean_response_tokens=round(tokens / responses, 2) if responses else 0.0,
                mean_tokens_per_question=round(per_question, 2), selected_questions=n, corpus_questions=corpus_size,
                corpus_tokens_estimate=corpus, tokens_saved_estimate=corpus - tokens,
                cost_ratio=round(corpus_size / n, 2) if n else None)


def run(layout: Layout, config: DistillConfig) -> Report:
    t0 = time.perf_counter()
    sel_dir = Path(config.selection_dir)
    sel, sel_report = read_selection(layout, sel_dir)
    part_all, corpus_size, has_gold = selected_questions(layout, sel)
    warnings = []
    attempts = config.max_attempts if config.verify_responses and not config.greedy else 1
    if config.verify_responses and config.max_attempts > 1 and config.greedy:
        warnings.append("greedy decoding (--temperature 0) repeats its response: one attempt per question.")
    if config.verify_responses and not part_all["gold"].notna().any():
        warnings.append(f"--verify_responses: no selected question has a gold answer (column 'answer' of "
                        f"{layout.corpus_questions}), so every response is kept unverified.")
    backend_name = config.resolved_backend()
    if backend_name in ENGINE_PACKAGES:
        require_engine(backend_name)  # before the teacher's tokenizer: an uninstalled engine is the first error
    ids = part_all["question_id"].tolist()
    plan = ShardPlan(tuple(ids), config.shard_size)
    shards_dir = layout.distill_shards(sel_dir)
    executor_lines: list[str] = []
    with run_lock(layout.distill_dir(sel_dir)):
        if config.executor != "local":  # the workers load the teacher; here only its tokenizer (the EOS ids)
            tok = get_backend_class(backend_name).load_tokenizer(config.teacher, config.backend_options())
            cfg = run_config(config, backend_name, ids, attempts, list(tok.eos_token_ids))
            run = open_run(shards_dir, cfg, what="shards", start_over=config.overwrite)
            todo = [i for i in range(plan.n_shards) if not run.shard_done(i, plan.ids_hash(i), len(plan.ids(i)))]
            parts = [(i, plan.ids_hash(i), part_all.iloc[slice(*plan.bounds(i))]) for i in todo]
            g0 = time.perf_counter()
            info, job = distill_with_executor(config.executor_for(), config, backend_name, run, parts, attempts)
            t_gen = time.perf_counter() - g0
            executor_lines = job.lines("q")
        else:
            cfg, run, todo, info, t_gen = _distill_here(config, backend_name, ids, attempts, plan, shards_dir,
                                                        part_all)
    done = run.read_shards(plan.n_shards)
    return _finish(layout, config, sel_dir, sel_report, part_all, done, corpus_size, has_gold, cfg, info,
                   warnings, n_new=len(todo), seconds=(time.perf_counter() - t0, t_gen),
                   executor_lines=executor_lines)


def _distill_here(config, backend_name, ids, attempts, plan, shards_dir, part_all):
    """The local path: the teacher loaded in this process, the pending shards one after another."""
    backend = None
    try:
        backend = open_engine(config, config.teacher, backend_name)  # a missing teacher fails here
        cfg = run_config(config, backend_name, ids, attempts, list(backend.tokenizer.eos_token_ids))
        run = open_run(shards_dir, cfg, what="shards", start_over=config.overwrite)
        todo = [i for i in range(plan.n_shards) if not run.shard_done(i, plan.ids_hash(i), len(plan.ids(i)))]
        verifier = None
        if config.verify_responses and todo:
            verifier = Verifier(timeout=config.timeout, workers=config.workers, progress=False)
        try:
            g0 = time.perf_counter()
            for i in progress_bar(todo, desc="distill shards", enabled=config.progress):
                a, b = plan.bounds(i)
                df = teacher.distill_shard(backend, part_all.iloc[a:b], config, verifier, attempts)
                run.write_shard(i, df[SHARD_COLUMNS])
            t_gen = time.perf_counter() - g0
        finally:
            if verifier is not None:
                verifier.close()
        info = backend.info()
    finally:
        if backend is not None:
            backend.close()
    return cfg, run, todo, info, t_gen


def _finish(layout, config, sel_dir, sel_report, part_all, done, corpus_size, has_gold, cfg, info, warnings,
            n_new: int, seconds, executor_lines: list[str] = ()) -> Report:
    keep = done["response"].astype(str).str.strip() != ""
    keep &= ~done["verified"] | done["accepted"]
    verified = int(done["verified"].sum())
    accepted = int(done["accepted"].sum())
    first = int((done["accepted"] & (done["attempts"] == 1)).sum())
    truncated = int((keep & (done["finish_reason"] == "length")).sum())
    if truncated:
        warnings.append(f"{truncated:,} kept response(s) hit --max_new_tokens {config.max_new_tokens:,} (cut "
                        "mid-response): raise it or add --verify_responses, which never accepts a cut response.")
    if not keep.any():
        raise DDCFError(
            f"No selected question got a usable teacher response ({verified:,} verified, none accepted); the "
            "SFT dataset was not written (the shards are kept).",
            "check the teacher and the gold answers, raise --max_attempts or --max_new_tokens, or drop "
            "--verify_responses; rerun with --overwrite after changing settings.")
    rows = part_all[["question_id", "question", "dataset", "rank"]].merge(
        done.loc[keep, ["question_id", "response"]], on="question_id", how="inner", sort=False)
    records = build_records(rows, render_chatml)
    dataset = layout.distill_dataset(sel_dir)
    save_dataset_atomic(records, dataset, progress=config.progress)
    cost = cost_report(done, corpus_size)
    dropped = done.loc[~keep, "question_id"].tolist()
    report = dict(
        teacher=config.teacher, engine=info, created_by=f"ddcf {__version__} ddcf distill",
        selection_dir=str(sel_dir), selection_ids_sha256=sel_report.get("selection_ids_sha256"),
        options={k: cfg[k] for k in ("backend", "thinking", "chat_template", "sampling", "verify_responses",
                                     "attempts", "shard_size")},
        examples=int(keep.sum()), selected=len(done), dropped=len(dropped), dropped_ids=dropped[:1000],
        corpus_has_gold=has_gold, verified=verified, accepted=accepted,
        acceptance_rate=round(accepted / verified, 4) if verified else None,
        first_attempt_acceptance_rate=round(first / verified, 4) if verified else None,
        kept_truncated=truncated, cost=cost, shards_generated_now=n_new,
        seconds_total=round(seconds[0], 3), seconds_generation=round(seconds[1], 3), warnings=warnings,
        dataset_ids_sha256=hash_ids(records["question_id"]),
    )
    write_json(report, layout.distill_report(sel_dir))
    n_shards = -(-cfg["n_questions"] // cfg["shard_size"])
    acc = (f"{accepted:,}/{verified:,} verified accepted ({report['acceptance_rate']:.1%}; first attempt "
           f"{report['first_attempt_acceptance_rate']:.1%})" if verified else "not verified")
    summary = "\n".join([
        f"distill: {config.teacher} answered {len(done):,} selected questions of {sel_dir}",
        f"  examples kept: {report['examples']:,} (dropped {len(dropped):,}); {acc}",
        f"  teacher tokens: {cost['teacher_tokens_generated']:,} for the selection vs about "
        f"{cost['corpus_tokens_estimate']:,} for the whole corpus of {corpus_size:,} questions "
        f"({cost['mean_tokens_per_question']:,.0f} tokens per question; {cost['cost_ratio']}x fewer)",
        f"  shards: {n_new} generated now, {n_shards - n_new} finished before (resumed)",
        f"  SFT dataset: {dataset}",
        f"  next: python train/sft.py --model_name MODEL --train_file_path {shlex.quote(str(dataset))} --output_dir OUT"
        f"{layout.workdir_option}",
        *(f"  {line}" for line in executor_lines),
    ])
    return Report(stage="distill", summary=summary, files=[dataset, layout.distill_report(sel_dir)],
                  warnings=warnings, config_dir=layout.distill_dir(sel_dir),
                  details=dict(report=report, shards=done), seconds=report["seconds_total"])
