"""Stage 6's ``run``: pick ``--num_select`` questions with ``--method`` and write the selection folder.

Reads  the candidate pool of the method (:mod:`ddcf.select.pools`: for the corpus pool the stage-5 table
       factorized_data/<model>.parquet, the corpus embeddings and DDCF_data/corpus/questions.parquet)
Writes DDCF_data/selection/<model>/lamda<l>_k<k>/ (or <method>_k<k>_<tag>/, or --output_dir), paths from the
       Layout, swapped in as one folder (:func:`ddcf.io.atomic_dir`):
       selection.parquet  rank, question_id, cost, predicted_correctness, max_similarity, dataset (+ provenance)
       dataset/           Hugging Face dataset for TRL SFT (see ddcf.select.sft_dataset)
       report.json, report.png, select.config.yaml
"""

from __future__ import annotations

import shlex
import time

import numpy as np
import pandas as pd

from ddcf import __version__
from ddcf.artifacts.selection import COLUMN
from ddcf.config import write_resolved_config
from ddcf.errors import DDCFError
from ddcf.io import atomic_dir, hash_ids, write_json, write_parquet
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.select.config import SelectConfig
from ddcf.select.kgreedy.common import KGreedyResult
from ddcf.select.kgreedy.engine import select
from ddcf.select.methods import get_method, load_method
from ddcf.select.methods.common import Context, max_similarity_at_pick
from ddcf.select.output import check_replaceable, selection_folder
from ddcf.select.pools import load_method_pool
from ddcf.select.report import annotation_cost, method_label, plot_report, set_stats, summary_text
from ddcf.select.sft_dataset import build_records, resolve_renderer, save_dataset_atomic
from ddcf.select.stability import pool_stability

SCRIPT = "k_greedy_selection.py"


def _label(entry, config) -> str:
    """The name tables and figures give the selection: the method's, plus the stability rule when one is used
    (a report comparing the plain and the consensus selection must tell them apart)."""
    if entry.kgreedy and config.stability != "none":
        return f"{entry.label} ({config.stability} of {config.consensus_draws})"
    return entry.label


def _stability(pool, rows, result, config, lamda: float, k: int) -> dict | None:
    """report.json's stability block.  For the plain k-greedy, the members'-spread estimate plus one re-selection
    on a retraining draw; for ``--stability consensus`` the re-selection of the *plain* rule would describe
    another selection, and one of the consensus costs ``--consensus_draws`` more k-greedy runs, so the block
    keeps the ranking estimate and adds the consensus' own agreement figures (its algorithm_stats)."""
    if config.stability != "none":
        block = pool_stability(pool, rows, None, None)
        if block is None:
            return None
        stats = result.stats or {}
        return {**block, "rule": config.stability,
                **{key: stats[key] for key in ("draws", "picks_in_every_draw", "mean_inclusion") if key in stats}}
    return pool_stability(pool, rows, lambda q: select(pool.x, q, k, lamda, config.device,
                                                      redundancy=config.redundancy,
                                                      shards=config.kgreedy_shards,
                                                      devices=config.kgreedy_devices).indices, lamda)


def run(layout: Layout, config: SelectConfig) -> Report:
    """Select ``num_select`` questions for ``model_name`` with ``method``; write the table, dataset and report."""
    t0 = time.perf_counter()
    model, lamda, k, max_score, seed = (config.model_name, config.lamda, config.num_select, config.max_score,
                                        config.seed)
    method = config.method
    entry, module = get_method(method), load_method(method)
    render, template_desc = resolve_renderer(config.chat_template, config.tokenizer)  # fail before the work
    pool = load_method_pool(layout, config)
    n = len(pool.ids)
    if k > n:
        raise DDCFError(
            f"--num_select {k:,} is larger than the candidate pool of {n:,} questions "
            f"(correctness <= {max_score:g}{', ids in --pool' if config.pool else ''}).",
            f"select at most {n:,} questions, or widen the pool (--max_score, --pool).",
        )
    pc = pool.predicted_correctness
    picks = module.select(Context(layout=layout, config=config, pool=pool, k=k))
    rows = np.asarray(picks.indices, dtype=np.int64)
    if len(rows) != k or len(np.unique(rows)) != k:  # a selector bug, not a user error
        raise AssertionError(f"--method {method} returned {len(rows)} rows ({len(np.unique(rows))} distinct), not {k}")
    msim = picks.max_similarity if picks.max_similarity is not None else max_similarity_at_pick(pool.x, rows)
    cost = picks.score if picks.score is not None else np.arange(1, k + 1, dtype=np.float64)
    pool.warnings = list(pool.warnings) + list(picks.warnings)
    result = KGreedyResult(indices=rows, lamda=float(lamda), cost=np.asarray(cost, dtype=np.float64),
                           max_similarity=np.asarray(msim, dtype=np.float64), seconds=picks.seconds,
                           method=picks.engine, stats=picks.stats)
    datasets = pool.questions["dataset"].astype(str).to_numpy()
    sel = pd.DataFrame({
        "rank": np.arange(1, k + 1, dtype=np.int64),
        "question_id": [pool.ids[r] for r in rows],
        "cost": result.cost,
        COLUMN: pc[rows],
        "max_similarity": result.max_similarity,
        "dataset": datasets[rows],
    })
    out = selection_folder(layout, config)
    check_replaceable(out)
    table, dataset, plot = layout.selection_table(out), layout.selection_dataset(out), layout.selection_plot(out)

    rnd = np.random.default_rng(seed).choice(n, size=k, replace=False)
    report = dict(
        model=model, lamda=float(lamda), k=int(k), max_score=float(max_score), seed=int(seed),
        method=method, engine=result.method, seconds_selection=round(result.seconds, 3),
        redundancy=config.redundancy if entry.kgreedy else None, method_label=_label(entry, config),
        pool_kind=pool.meta.get("pool_kind", "corpus"),
        selection=set_stats(pool.x, rows, pc, datasets, seed),
        random=set_stats(pool.x, rnd, pc, datasets, seed),
        pool=set_stats(pool.x, np.arange(n), pc, datasets, seed),
        # how much a retraining of the predictor with another seed would change the picks (issue 23)
        stability=_stability(pool, rows, result, config, lamda, k) if entry.kgreedy else None,
        selection_mean_max_similarity_at_pick=float(np.nanmean(result.max_similarity)) if k > 1 else None,
        chat_template=template_desc,
        warnings=pool.warnings,
        inputs=pool.meta,
        algorithm_stats=result.stats,
        outputs={"selection": table.name, "dataset": dataset.name, "plot": plot.name},
    )
    cost, report["annotation_cost_text"] = annotation_cost(entry, config, pool)
    report.update(annotation_cost=cost, annotation_kind=entry.cost_kind(config))
    needs_distill = pool.meta.get("corpus_annotated") is False
    report["needs_distill"] = needs_distill
    texts = pool.texts(rows)  # the k picked rows' texts only (issue 25)
    records = build_records(sel.assign(question=texts["question"].to_numpy(), response=texts["response"].to_numpy()),
                            render, unannotated=needs_distill)
    meta = dict(model=model, lamda=float(lamda), k=int(k), max_score=float(max_score), seed=int(seed),
                pool_size=n, method=method, engine=result.method, created_by=f"ddcf {__version__} {SCRIPT}",
                **pool.meta)
    report["selection_ids_sha256"] = hash_ids(sel["question_id"])  # ties report.json to its table and dataset
    with atomic_dir(out) as tmp:  # the whole folder is swapped in at the end: never half old, half new
        save_dataset_atomic(records, layout.selection_dataset(tmp), progress=config.progress)
        write_parquet(sel, layout.selection_table(tmp), metadata=meta)
        plot_report(layout.selection_plot(tmp), pc, pc[rows], pc[rnd], result.max_similarity, result.cost,
                    f"{model}: {method}, k={k:,}" + (f", lamda={lamda:g}" if entry.kgreedy else "")
                    + f", pool={n:,}", label=method_label(method))
        write_resolved_config(config, layout.resolved_config(tmp, "select"), "select", SCRIPT)
        report["seconds_total"] = round(time.perf_counter() - t0, 3)
        write_json(report, layout.selection_report(tmp))
    # select.config.yaml is written inside the swap (the folder is one unit), so the stage command does not write
    # it again: config_dir stays None
    files = [dataset, table, plot, layout.selection_report(out), layout.resolved_config(out, "select")]
    summary = (summary_text(report) + "\n\n"
               f"  SFT dataset (Hugging Face, column 'text'): {dataset}")
    if needs_distill:
        summary = (summary_text(report) + "\n\n"
                   f"  the corpus has no responses: {dataset} holds the questions with an empty response column.\n"
                   f"  next step (writes {layout.distill_dataset(out)}):\n"
                   f"  ddcf distill {shlex.quote(str(out))} --teacher MODEL{layout.workdir_option}")
    return Report(
        stage="select", summary=summary, files=files, warnings=list(pool.warnings), config_dir=None,
        details=dict(output_dir=out, selection=sel, report=report, result=result),
        seconds=report["seconds_total"],
    )
