"""Stage 5: score every corpus question with the trained predictor, for one model or all of them.

Reads the predictor (``Layout.predictor_config`` / ``predictor_weights``) and the corpus
embeddings; writes ``Layout.difficulty(model)`` (question_id, predicted_correctness, with the
predictor's and the corpus's hashes in its metadata), ``Layout.difficulty_histogram(model)`` and,
on request, ``Layout.factorized_embeddings``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf import __version__
from ddcf.artifacts import corpus as corpus_table
from ddcf.artifacts.difficulty import SE_COLUMN, write_difficulty
from ddcf.difficulty.compat import check_embedding_compat, check_trained, resolve_models
from ddcf.difficulty.config import DifficultyConfig
from ddcf.difficulty.plots import plot_histogram
from ddcf.difficulty.scoring import corpus_text_features, has_member_spread, score_chunks, summarize
from ddcf.difficulty.sharded import score_with_executor
from ddcf.io import hash_ids, load_embeddings, save_embeddings
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.predictor.store import load_predictor
from ddcf.runtime import resolve_device

SCRIPT = "fullcorpus_difficulty_estimation.py"
#: above this many models the summary shows only the all-datasets row of each (one screen)
PER_DATASET_ROWS_UP_TO = 8


def _corpus_datasets(layout: Layout, ids: list[str]) -> np.ndarray | None:
    """The dataset of each corpus question, when the corpus table exists and has that optional column."""
    if not corpus_table.exists(layout):
        return None
    cq = corpus_table.read_corpus(layout, columns=("question_id",), optional=("dataset",),
                                  fix="rewrite DDCF_data/corpus/questions.parquet with question_id, question, response "
                                  "(dataset optional; scripts/install_bundled_data.py does it for the bundled data), "
                                  "or remove the file.")
    if "dataset" not in cq.columns:  # optional: only used for the per-dataset summary
        return None
    datasets = pd.Series(ids).map(dict(zip(cq["question_id"], cq["dataset"].astype(str))))
    return datasets.fillna("(not in corpus table)").to_numpy()


def run(layout: Layout, config: DifficultyConfig) -> Report:
    """The whole stage.  ``report.details`` holds ``models``, ``n_questions``, ``scoring_seconds`` and
    ``table`` (a DataFrame: one row per model, and per model x dataset when the corpus table has datasets)."""
    config.validate()
    device = resolve_device(config.device)
    pred = load_predictor(layout.predictor_config, layout.predictor_weights, device="cpu")
    models, warnings = check_trained(pred, resolve_models(pred.models, config.model_name, config.all_models),
                                     config.all_models)
    # One file per model: refuse before writing any if two models would share one (case-insensitive disks).
    Layout.check_distinct_paths(models, layout.difficulty)
    if not config.no_plot:
        Layout.check_distinct_paths(models, layout.difficulty_histogram)
    corpus, ids, manifest = load_embeddings(layout.corpus_embeddings, "corpus embeddings", mmap=True)
    warnings += check_embedding_compat(pred, manifest, corpus.shape[1], layout.corpus_embeddings)
    corpus_hash = manifest.get("question_ids_sha256") or hash_ids(ids)
    t0 = time.perf_counter()
    fact = np.empty((corpus.shape[0], pred.model.factor_dim), np.float32) if config.save_factorized_embeddings \
        else None
    index = {m: i for i, m in enumerate(pred.models)}
    text = corpus_text_features(pred, layout, ids)
    # The members' spread: a cheap estimate of how much a retraining would move each value (issue 23).
    se = np.empty((len(models), corpus.shape[0]), np.float32) if has_member_spread(pred) else None
    executor_lines: list[str] = []
    if config.executor != "local":  # the same chunks as shards, on the executor's workers (ddcf/executors)
        probs, job_summary = score_with_executor(config.executor_for(), layout, pred, corpus_hash, corpus.shape[0],
                                                 [index[m] for m in models], config.chunk_size, device, fact,
                                                 config.progress, text=text, se_out=se)
        executor_lines = job_summary.lines("q")
    else:
        probs = score_chunks(pred, corpus, [index[m] for m in models], config.chunk_size, device, fact,
                             config.progress, text=text, se_out=se)
    seconds = time.perf_counter() - t0
    datasets = _corpus_datasets(layout, ids)

    qids = pd.Series(ids, dtype=str)
    base_meta = dict(
        predictor_config_sha256=pred.config_sha256,
        predictor_weights_sha256=pred.config.get("weights_sha256"),
        predictor_dir=str(pred.directory),
        corpus_question_ids_sha256=corpus_hash,
        corpus_embeddings=str(layout.corpus_embeddings),
        embedding_model=manifest.get("embedding_model"),
        n_questions=len(ids),
        created_by=f"ddcf {__version__} {SCRIPT}",
        p_correct=f"sigmoid(logit / T), T = {pred.temperature:.6g}; logit: "
                  + str((pred.config.get("architecture") or {}).get("p_correct", "")),
    )
    files: list[Path] = []
    rows = []
    train_rows = pred.config.get("train_rows_per_model") or {}
    for i, model in enumerate(models):
        p = probs[i]
        df = pd.DataFrame({"question_id": qids, "predicted_correctness": p})
        if se is not None:
            df[SE_COLUMN] = se[i]
        meta = dict(model=model, model_train_rows=train_rows.get(model), **base_meta)
        files.append(write_difficulty(layout, model, df, meta))
        if not config.no_plot:
            files.append(plot_histogram(p, model, layout.difficulty_histogram(model)))
        rows.append(dict(model=model, dataset="(all)", **summarize(p)))
        if datasets is not None:
            for ds in sorted(set(datasets)):
                rows.append(dict(model=model, dataset=ds, **summarize(p[datasets == ds])))
    if fact is not None:
        files.append(save_embeddings(fact, ids, layout.factorized_embeddings, dict(
            kind="factorized question embeddings (question-encoder output of the correctness predictor)",
            embedding_model=manifest.get("embedding_model"), normalized=False, base_embeddings_sha256=corpus_hash,
            predictor_config_sha256=pred.config_sha256,
        )))
    table = pd.DataFrame(rows)
    shown = table[table["dataset"] == "(all)"] if len(models) > PER_DATASET_ROWS_UP_TO else table
    summary = (
        f"scored {len(ids):,} corpus questions for {len(models)} model(s) in {seconds:.1f} s\n"
        "\npredicted correctness (lower = harder):\n"
        + shown.to_string(index=False, float_format=lambda v: f"{v:.3f}")
    ) + "".join("\n" + line for line in executor_lines)
    return Report(stage="difficulty", summary=summary, files=files, warnings=warnings, config_dir=layout.factorized,
                  details=dict(models=models, n_questions=len(ids), scoring_seconds=seconds, table=table),
                  seconds=seconds)
