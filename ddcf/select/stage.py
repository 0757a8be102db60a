"""Stage 6: join predicted correctness, corpus embeddings and corpus questions; select; write the outputs.

Reads  factorized_data/<model>.parquet        question_id, predicted_correctness (stage 5)
       DDCF_data/embeddings/corpus.npy (+ids)  corpus embeddings (stage 3), memory-mapped
       DDCF_data/corpus/questions.parquet      question_id, question, response, dataset
Writes DDCF_data/selection/<model>/lamda<l>_k<k>/ (or --output_dir), paths from the Layout:
       selection.parquet  rank, question_id, cost, predicted_correctness, max_similarity, dataset (+ provenance)
       dataset/           Hugging Face dataset for TRL SFT (see ddcf.select.sft_dataset)
       report.json, report.png, select.config.yaml

The candidate pool is every question of the stage-5 table with predicted
correctness <= max_score, in the order of the corpus embedding file.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf import __version__
from ddcf.config import write_resolved_config
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import (
    blank_text,
    hash_ids,
    load_embeddings,
    read_parquet_metadata,
    read_table,
    require_file,
    write_json,
    write_parquet,
)
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.runtime import resolve_device
from ddcf.select.config import SelectConfig
from ddcf.select.kgreedy_common import KGreedyResult
from ddcf.select.kgreedy_lazy import kgreedy_fast
from ddcf.select.output import check_replaceable, staged_dir
from ddcf.select.report import COLUMN, method_label, plot_report, set_stats, summary_text
from ddcf.select.sft_dataset import build_records, resolve_renderer, save_dataset_atomic
from ddcf.select.stability import pool_stability

SCRIPT = "k_greedy_selection.py"

CORPUS_FIX = ("create the corpus question table first (scripts/install_bundled_data.py for the bundled data, or write "
              "DDCF_data/corpus/questions.parquet with question_id, question, response).")


@dataclass
class Pool:
    x: np.ndarray  # (n, d) rows of the candidates, embedding-file order (the memmap itself when nothing is filtered)
    ids: list[str]
    predicted_correctness: np.ndarray  # float64 (n,)
    questions: pd.DataFrame  # question_id, question, response, dataset; aligned with ids
    meta: dict
    warnings: list[str] = field(default_factory=list)


def read_predicted_correctness(layout: Layout, model: str) -> tuple[pd.DataFrame, dict, Path]:
    path = layout.difficulty(model)
    fix = f"run `python fullcorpus_difficulty_estimation.py --model_name {model}` first."
    require_file(path, f"difficulty table for {model!r}", fix)
    df = read_table(path, f"difficulty table for {model!r}", ["question_id", "predicted_correctness"], fix)
    meta = read_parquet_metadata(path)
    if meta.get("model") not in (None, model):
        raise InputMismatchError(
            f"The difficulty table {path} was computed for the model {meta['model']!r}, not {model!r}.",
            fix,
        )
    _check_model_trained(layout, model, meta, path)
    df = df[["question_id", "predicted_correctness"]].copy()
    df["question_id"] = df["question_id"].astype(str)
    if df["question_id"].duplicated().any():
        dup = df.loc[df["question_id"].duplicated(), "question_id"].iloc[0]
        raise DDCFError(f"The difficulty table {path} repeats the question id {dup!r}.", fix)
    p = pd.to_numeric(df["predicted_correctness"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        qid = df["question_id"].iloc[int(np.flatnonzero(bad)[0])]
        raise DDCFError(
            f"The difficulty table {path} has {int(bad.sum())} predicted correctness value(s) that are NaN or "
            f"outside [0, 1] (e.g. question {qid!r}).",
            fix,
        )
    df["predicted_correctness"] = df["predicted_correctness"].astype(np.float32)
    return df, meta, path


def _check_model_trained(layout: Layout, model: str, meta: dict, path: Path) -> None:
    """Refuse a difficulty table of a model the predictor never saw an answer of (its scores are the random
    initial embedding's): recorded in the table, or in the predictor config the table was computed with."""
    untrained = meta.get("model_train_rows") == 0
    if not untrained and layout.predictor_config.is_file() and meta.get("predictor_config_sha256"):
        try:
            cfg = json.loads(layout.predictor_config.read_text())
        except (OSError, ValueError):
            cfg = {}  # a damaged config is the difficulty stage's to report; the table itself is checked above
        trained = cfg.get("models_with_training_rows")
        if trained is not None and model not in trained:
            from ddcf.predictor.store import config_sha256  # imports torch: only for this rare case

            untrained = config_sha256(cfg) == meta["predictor_config_sha256"]
    if untrained:
        from ddcf.difficulty.compat import untrained_fix

        raise DDCFError(
            f"The difficulty table {path} scores {model!r}, but the predictor it came from never saw an answer of "
            "that model (no training rows): its predicted correctness is the output of a random initial embedding.",
            untrained_fix(model),
        )


def read_corpus(layout: Layout) -> pd.DataFrame:
    cq = read_table(layout.corpus_questions, "corpus questions", ["question_id", "question"], CORPUS_FIX)
    if "dataset" not in cq.columns:  # optional: only used for the composition report
        cq["dataset"] = "unknown"
    if "response" not in cq.columns:  # an unannotated corpus (the paper's Section 5): ddcf distill writes them
        cq["response"] = ""
    cq = cq[["question_id", "question", "response", "dataset"]].copy()
    cq["question_id"] = cq["question_id"].astype(str)
    if cq["question_id"].duplicated().any():
        dup = cq.loc[cq["question_id"].duplicated(), "question_id"].iloc[0]
        raise DDCFError(f"The corpus question table {layout.corpus_questions} repeats the question id {dup!r}.",
                        "make question ids unique and rerun stages 3 and 5.")
    return cq


def load_pool(layout: Layout, model: str, max_score: float = 1.0) -> Pool:
    """Join predicted correctness, embeddings and questions by question id; filter by ``max_score``."""
    pred, dmeta, dpath = read_predicted_correctness(layout, model)
    cq = read_corpus(layout)
    arr, emb_ids, manifest = load_embeddings(layout.corpus_embeddings, "corpus embeddings")
    warnings = []
    emb_index = {q: i for i, q in enumerate(emb_ids)}
    missing = [q for q in pred["question_id"] if q not in emb_index]
    if missing:
        raise InputMismatchError(
            f"The corpus embeddings {layout.corpus_embeddings} have no vector for {len(missing):,} of the "
            f"{len(pred):,} questions in the difficulty table {dpath} (e.g. {', '.join(missing[:3])}).",
            "rerun get_question_embeddings.py on the current corpus table, then fullcorpus_difficulty_estimation.py.",
        )
    n_extra = len(emb_ids) - len(pred)
    if n_extra > 0:
        warnings.append(f"{n_extra:,} embedded corpus questions have no predicted correctness for {model} and are not "
                        "candidates.")
    e_model, d_model = manifest.get("embedding_model"), dmeta.get("embedding_model")
    if e_model and d_model and e_model != d_model:
        warnings.append(f"the correctness was predicted from {d_model} embeddings but the similarity uses {e_model}.")

    keep = pred[COLUMN].to_numpy(dtype=np.float64) <= max_score
    if not keep.any():
        lo = float(pred[COLUMN].min())
        raise DDCFError(
            f"--max_score {max_score:g} leaves no candidate: the lowest predicted correctness for {model} is {lo:.4f}.",
            f"raise --max_score above {lo:.4f} (default 1.0 keeps every question).",
        )
    pred = pred[keep]
    rows = np.sort(np.fromiter((emb_index[q] for q in pred["question_id"]), dtype=np.int64, count=len(pred)))
    ids = [emb_ids[r] for r in rows]
    p_by_id = dict(zip(pred["question_id"], pred[COLUMN].to_numpy()))
    predicted = np.array([p_by_id[q] for q in ids], dtype=np.float32).astype(np.float64)

    q_index = cq.set_index("question_id")
    absent = [q for q in ids if q not in q_index.index]
    if absent:
        raise InputMismatchError(
            f"{len(absent):,} candidate questions are not in the corpus question table {layout.corpus_questions} "
            f"(e.g. {', '.join(absent[:3])}), so their responses are unknown.",
            "rerun stages 3 and 5 on the current corpus table, or restore the table the embeddings were made from.",
        )
    questions = q_index.loc[ids].reset_index()
    # A corpus with no response at all is unannotated (select, then distill); one with some blank responses
    # is a damaged annotated corpus, refused below.
    annotated = not blank_text(cq["response"]).all()
    for column in ("question", "response") if annotated else ("question",):  # an empty turn is no SFT example
        empty = blank_text(questions[column])
        if empty.any():
            raise DDCFError(
                f"{int(empty.sum()):,} candidate questions have an empty {column} in {layout.corpus_questions} "
                f"(e.g. {', '.join(map(repr, questions.loc[empty, 'question_id'].head(5)))}); they cannot become "
                "SFT examples.",
                f"fill in their {column} text or drop those questions (then rerun stages 3 and 5).",
            )
    if len(rows) == len(emb_ids):
        x = arr  # rows == 0..n-1: use the memory map itself, no copy
    else:
        x = np.asarray(arr[rows])  # the filtered pool, copied once (pool x dim x itemsize bytes)
    meta = dict(
        difficulty_file=str(dpath),
        difficulty_ids_sha256=hash_ids(pred["question_id"]),
        difficulty_provenance={k: dmeta.get(k) for k in ("predictor_config_sha256", "predictor_weights_sha256",
                                                         "created_by") if k in dmeta},
        corpus_embeddings=str(layout.corpus_embeddings),
        corpus_embeddings_ids_sha256=manifest.get("question_ids_sha256"),
        embedding_model=e_model,
        corpus_questions=str(layout.corpus_questions),
        corpus_questions_ids_sha256=hash_ids(cq["question_id"]),
        pool_ids_sha256=hash_ids(ids),
        corpus_annotated=annotated,
    )
    return Pool(x=x, ids=ids, predicted_correctness=predicted, questions=questions, meta=meta, warnings=warnings)


def select(x, predicted_correctness, k: int, lamda: float, device: str = "auto",
           progress: bool = False, redundancy: str = "floor") -> KGreedyResult:
    """Exact k-greedy on the best engine for ``device`` (auto: CUDA when torch sees one, else the CPU);
    ``redundancy`` as ``--redundancy`` (floor: the released code, signed: eq. 5 as written)."""
    dev = resolve_device(device, "--device")
    if dev.startswith("cuda"):
        from ddcf.select.kgreedy_torch import kgreedy_torch

        return kgreedy_torch(x, predicted_correctness, k, lamda, redundancy=redundancy, device=dev,
                             progress=progress)
    return kgreedy_fast(x, predicted_correctness, k, lamda, redundancy=redundancy, progress=progress)


def pool_kind(config: SelectConfig) -> str:
    from ddcf.select.methods import get_method, load_method

    module = load_method(config.method)
    kind = getattr(module, "pool_kind", None)
    return kind(config) if kind else get_method(config.method).pool


def load_method_pool(layout: Layout, config: SelectConfig) -> Pool:
    """The candidates of ``config.method``: the corpus pool or the seed pool, then --max_score and --pool."""
    from ddcf.select.pools import load_seed_pool, restrict

    if pool_kind(config) == "seed":
        pool = load_seed_pool(layout, config.model_name, need_pass_rates=config.method == "passrate_band")
        keep = pool.predicted_correctness <= config.max_score  # the measured pass rate, for seed pools
        if not keep.any():
            raise DDCFError(f"--max_score {config.max_score:g} leaves no seed question: the lowest measured pass "
                            f"rate is {pool.predicted_correctness.min():.4f}.", "raise --max_score.")
        if not keep.all():
            rows = np.flatnonzero(keep)
            pool = Pool(x=pool.x[rows], ids=[pool.ids[r] for r in rows],
                        predicted_correctness=pool.predicted_correctness[rows],
                        questions=pool.questions.iloc[rows].reset_index(drop=True), meta=pool.meta)
    else:
        pool = load_pool(layout, config.model_name, config.max_score)
    return restrict(pool, config.pool)


def output_dir(layout: Layout, config: SelectConfig) -> Path:
    if config.output_dir:
        return Path(config.output_dir)
    if config.method == "ddcf":  # existing runs, the summary and `ddcf push` keep their paths
        return layout.selection_dir(config.model_name, config.lamda, config.num_select, config.redundancy)
    from ddcf.select.methods import load_method

    tag = getattr(load_method(config.method), "folder_tag", None)
    return layout.selection_method_dir(config.model_name, config.method, config.num_select,
                                       tag(config) if tag else "")


def run(layout: Layout, config: SelectConfig) -> Report:
    """Select ``num_select`` questions for ``model_name`` with ``method``; write the table, dataset and report."""
    from ddcf.select.methods import load_method
    from ddcf.select.methods.common import Context, max_similarity_at_pick

    t0 = time.perf_counter()
    model, lamda, k, max_score, seed = (config.model_name, config.lamda, config.num_select, config.max_score,
                                        config.seed)
    method = config.method
    module = load_method(method)
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
    out = output_dir(layout, config)
    check_replaceable(out)
    table, dataset, plot = layout.selection_table(out), layout.selection_dataset(out), layout.selection_plot(out)

    rnd = np.random.default_rng(seed).choice(n, size=k, replace=False)
    report = dict(
        model=model, lamda=float(lamda), k=int(k), max_score=float(max_score), seed=int(seed),
        method=method, engine=result.method, seconds_selection=round(result.seconds, 3),
        redundancy=config.redundancy if method == "ddcf" else None,
        pool_kind=pool.meta.get("pool_kind", "corpus"),
        selection=set_stats(pool.x, rows, pc, datasets, seed),
        random=set_stats(pool.x, rnd, pc, datasets, seed),
        pool=set_stats(pool.x, np.arange(n), pc, datasets, seed),
        # how much a retraining of the predictor with another seed would change the picks (issue 23)
        stability=pool_stability(pool, rows, lambda q: select(pool.x, q, k, lamda, config.device,
                                                              redundancy=config.redundancy).indices, lamda)
        if method == "ddcf" else None,
        selection_mean_max_similarity_at_pick=float(np.nanmean(result.max_similarity)) if k > 1 else None,
        chat_template=template_desc,
        warnings=pool.warnings,
        inputs=pool.meta,
        algorithm_stats=result.stats,
        outputs={"selection": table.name, "dataset": dataset.name, "plot": plot.name},
    )
    needs_distill = pool.meta.get("corpus_annotated") is False
    report["needs_distill"] = needs_distill
    records = build_records(sel.merge(pool.questions[["question_id", "question", "response"]], on="question_id",
                                      how="left", sort=False), render, unannotated=needs_distill)
    meta = dict(model=model, lamda=float(lamda), k=int(k), max_score=float(max_score), seed=int(seed),
                pool_size=n, method=method, engine=result.method, created_by=f"ddcf {__version__} {SCRIPT}",
                **pool.meta)
    report["selection_ids_sha256"] = hash_ids(sel["question_id"])  # ties report.json to its table and dataset
    with staged_dir(out) as tmp:  # the whole folder is swapped in at the end: never half old, half new
        save_dataset_atomic(records, layout.selection_dataset(tmp), progress=config.progress)
        write_parquet(sel, layout.selection_table(tmp), metadata=meta)
        plot_report(layout.selection_plot(tmp), pc, pc[rows], pc[rnd], result.max_similarity, result.cost,
                    f"{model}: {method}, k={k:,}" + (f", lamda={lamda:g}" if method == "ddcf" else "")
                    + f", pool={n:,}", label=method_label(method))
        write_resolved_config(config, layout.resolved_config(tmp, "select"), "select", SCRIPT)
        report["seconds_total"] = round(time.perf_counter() - t0, 3)
        write_json(report, layout.selection_report(tmp))
    files = [dataset, table, plot, layout.selection_report(out)]
    summary = (summary_text(report) + "\n\n"
               f"  SFT dataset (Hugging Face, column 'text'): {dataset}")
    if needs_distill:
        summary = (summary_text(report) + "\n\n"
                   f"  the corpus has no responses: {dataset} holds the questions with an empty response column.\n"
                   f"  next step (writes {layout.distill_dataset(out)}):\n"
                   f"  ddcf distill {shlex.quote(str(out))} --teacher MODEL{layout.workdir_option}")
    return Report(
        stage="select", summary=summary, files=files, warnings=list(pool.warnings), config_dir=out,
        details=dict(output_dir=out, selection=sel, report=report, result=result),
        seconds=report["seconds_total"],
    )
