"""Stage 5: predicted correctness (difficulty) of every corpus question for one or all models.

The corpus embeddings are memory-mapped and scored in chunks: each chunk goes
through the question encoder once, and P(correct) for *all* requested models
comes from one matrix product, because for the 2-logit head

    logit_1 - logit_0 = (E_m * E_q) . (w_1 - w_0) + (b_1 - b_0) = E_q . (E_m * (w_1 - w_0)) + (b_1 - b_0)

and softmax(logits)[1] = sigmoid(logit_1 - logit_0).  This is the same
probability :meth:`CorrectnessPredictor.predict_proba` returns.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ddcf import __version__
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import atomic_path, hash_ids, load_embeddings, read_table, save_embeddings, write_parquet
from ddcf.layout import Layout
from ddcf.names import safe_name
from ddcf.predictor.config import resolve_device
from ddcf.predictor.store import LoadedPredictor, load_predictor

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
REEMBED_FIX = (
    "re-embed the corpus with the predictor's embedding model (get_question_embeddings.py) or retrain the predictor"
)


def check_embedding_compat(pred: LoadedPredictor, manifest: dict, dim: int, corpus_path: Path) -> list[str]:
    """Raise when the corpus embeddings cannot be fed to the predictor; return warnings for unknowns."""
    trained = pred.embedding
    t_model, t_dim, t_norm = trained.get("embedding_model"), trained.get("dim"), trained.get("normalized")
    c_model, c_norm = manifest.get("embedding_model"), manifest.get("normalized")
    what = (
        f"The predictor in {pred.directory} was trained with {t_model or 'an unrecorded embedding model'} "
        f"(dim {t_dim}), but the corpus in {corpus_path} was embedded with {c_model or 'an unrecorded model'} "
        f"(dim {dim})."
    )
    fix = (f"re-embed the corpus with {t_model} (get_question_embeddings.py) or retrain the predictor on seed "
           f"embeddings from {c_model}." if t_model and c_model else REEMBED_FIX + ".")
    if t_dim is not None and int(t_dim) != int(dim):
        raise InputMismatchError(what, fix)
    if t_model and c_model and t_model != c_model:
        raise InputMismatchError(what, fix)
    if t_norm is not None and c_norm is not None and bool(t_norm) != bool(c_norm):
        raise InputMismatchError(
            f"The predictor in {pred.directory} was trained on {'L2-normalised' if t_norm else 'unnormalised'} "
            f"embeddings but the corpus embeddings {corpus_path} are "
            f"{'L2-normalised' if c_norm else 'unnormalised'}.",
            "embed seed and corpus the same way (get_question_embeddings.py normalises both by default).",
        )
    warnings = []
    if not (t_model and c_model):
        warnings.append("the embedding model of the predictor or of the corpus is not recorded; only the "
                        "dimension could be checked.")
    return warnings


def resolve_models(predictor_models: list[str], model_name: str | None, all_models: bool) -> list[str]:
    if all_models and model_name:
        raise DDCFError("Both --model_name and --all_models were given.", "pass one of them.")
    if all_models:
        return list(predictor_models)
    if not model_name:
        raise DDCFError("No model to score was named.", "pass --model_name NAME or --all_models.")
    if model_name in predictor_models:
        return [model_name]
    close = difflib.get_close_matches(model_name, predictor_models, n=5, cutoff=0.4)
    hint = f"close matches: {', '.join(close)}" if close else f"known models: {', '.join(predictor_models[:10])}" + (
        " ..." if len(predictor_models) > 10 else "")
    raise DDCFError(
        f"--model_name '{model_name}' is not one of the {len(predictor_models)} models the predictor was trained on "
        f"({hint}).",
        "pass a name exactly as in DDCF_data/model_order.csv (or retrain the predictor with that model).",
    )


@torch.no_grad()
def score_chunks(
    pred: LoadedPredictor,
    corpus: np.ndarray,
    model_ids: list[int],
    chunk_size: int = 32768,
    device: str = "cpu",
    factorized_out: np.ndarray | None = None,
    progress: bool = True,
) -> np.ndarray:
    """P(correct) of shape (len(model_ids), n_questions) as float32; optionally fill ``factorized_out``."""
    from tqdm.auto import tqdm

    model = pred.model.to(device).eval()
    ids = torch.as_tensor(model_ids, dtype=torch.long, device=device)
    w = model.head.weight
    # Per-model direction in factorized question space: E_m * (w_1 - w_0).
    directions = model.encode_models(ids) * (w[1] - w[0])  # (M, d)
    bias = model.head.bias[1] - model.head.bias[0]
    n = corpus.shape[0]
    out = np.empty((len(model_ids), n), dtype=np.float32)
    bar = tqdm(total=n, desc="scoring corpus", unit="q", disable=not progress)
    for start in range(0, n, chunk_size):
        # np.array copies the chunk out of the read-only memory map.
        block = torch.from_numpy(np.array(corpus[start : start + chunk_size], dtype=np.float32))
        fq = model.encode_questions(block.to(device))
        if factorized_out is not None:
            factorized_out[start : start + len(block)] = fq.float().cpu().numpy()
        out[:, start : start + len(block)] = torch.sigmoid(directions @ fq.T + bias).float().cpu().numpy()
        bar.update(len(block))
    bar.close()
    return out


def summarize(p: np.ndarray) -> dict:
    q = np.quantile(p, QUANTILES) if len(p) else [np.nan] * len(QUANTILES)
    return dict(n=int(len(p)), mean=float(np.mean(p)) if len(p) else np.nan,
                **{f"q{int(x * 100):02d}": float(v) for x, v in zip(QUANTILES, q)})


def plot_histogram(p: np.ndarray, model: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.hist(p, bins=50, range=(0, 1), color="#4472c4")
    ax.set_xlabel("predicted P(correct)  (lower = harder)")
    ax.set_ylabel("corpus questions")
    ax.set_title(f"{model}: {len(p):,} questions, mean {np.mean(p):.3f}", fontsize=10)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path


def histogram_path(layout: Layout, model: str) -> Path:
    return layout.factorized / f"{safe_name(model)}.hist.png"


@dataclass
class DifficultyReport:
    models: list[str]
    n_questions: int
    seconds: float
    summary: pd.DataFrame  # one row per model (and per model x dataset when the corpus table exists)
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_difficulty(
    layout: Layout,
    model_name: str | None = None,
    all_models: bool = False,
    save_factorized: bool = False,
    chunk_size: int = 32768,
    device: str = "auto",
    progress: bool = True,
    plot: bool = True,
) -> DifficultyReport:
    if chunk_size < 1:
        raise DDCFError(f"--chunk_size is {chunk_size}.", "pass a positive chunk size.")
    device = resolve_device(device)
    pred = load_predictor(layout.predictor_dir, device="cpu")
    models = resolve_models(pred.models, model_name, all_models)
    corpus, ids, manifest = load_embeddings(layout.corpus_embeddings, "corpus embeddings", mmap=True)
    warnings = check_embedding_compat(pred, manifest, corpus.shape[1], layout.corpus_embeddings)
    corpus_hash = manifest.get("question_ids_sha256") or hash_ids(ids)
    t0 = time.perf_counter()
    fact = np.empty(corpus.shape, np.float32) if save_factorized else None
    index = {m: i for i, m in enumerate(pred.models)}
    probs = score_chunks(pred, corpus, [index[m] for m in models], chunk_size, device, fact, progress)
    seconds = time.perf_counter() - t0

    datasets = None
    if layout.corpus_questions.exists():
        cq = read_table(layout.corpus_questions, "corpus questions", ["question_id"],
                        "rewrite DDCF_data/corpus/questions.parquet with question_id, question, response (dataset "
                        "optional; scripts/install_bundled_data.py does it for the bundled data), or remove the file.")
        if "dataset" in cq.columns:  # optional: only used for the per-dataset summary
            datasets = pd.Series(ids).map(dict(zip(cq["question_id"].astype(str), cq["dataset"].astype(str))))
            datasets = datasets.fillna("(not in corpus table)").to_numpy()

    qids = pd.Series(ids, dtype=str)
    base_meta = dict(
        predictor_config_sha256=pred.config_sha256,
        predictor_weights_sha256=pred.config.get("weights_sha256"),
        predictor_dir=str(pred.directory),
        corpus_question_ids_sha256=corpus_hash,
        corpus_embeddings=str(layout.corpus_embeddings),
        embedding_model=manifest.get("embedding_model"),
        n_questions=len(ids),
        created_by=f"ddcf {__version__} fullcorpus_difficulty_estimation.py",
        p_correct="softmax(logits)[:, 1]",
    )
    files: list[Path] = []
    rows = []
    for i, model in enumerate(models):
        p = probs[i]
        df = pd.DataFrame({"question_id": qids, "predicted_correctness": p})
        files.append(write_parquet(df, layout.difficulty(model), metadata=dict(model=model, **base_meta)))
        if plot:
            files.append(plot_histogram(p, model, histogram_path(layout, model)))
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
    return DifficultyReport(models=models, n_questions=len(ids), seconds=seconds, summary=pd.DataFrame(rows),
                            files=files, warnings=warnings)
