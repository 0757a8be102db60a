"""A small work directory for the report tests: a slice of the bundled real corpus, synthetic embeddings with one
centre per dataset, predicted correctness for three target models, and selections made by `ddcf select`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd

from ddcf.bundled.files import CORPUS
from ddcf.io import read_parquet_metadata, save_embeddings, write_json, write_parquet
from ddcf.layout import Layout
from ddcf.select.cli import main as select_main

MODELS = ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.2-3B-Instruct", "Qwen/Qwen2.5-7B-Instruct"]
BASE = {"gsm8k": 1.5, "math": -0.3, "aime": -2.0}  # logit of predicted correctness by dataset


def build_work(root, n_per=(("gsm8k", 110), ("math", 110), ("aime", 40)), d: int = 24, seed: int = 0) -> Layout:
    layout = Layout(root)
    corpus = pd.read_parquet(CORPUS)
    corpus = pd.concat([corpus[corpus.dataset == ds].head(n) for ds, n in n_per]).reset_index(drop=True)
    # a subject column, as corpora with one (e.g. MATH's 'type') have: exercises the subject composition
    corpus["subject"] = np.where(corpus.dataset == "math", np.array(["algebra", "geometry", "number theory"])
                                 [np.arange(len(corpus)) % 3], corpus.dataset)
    write_parquet(corpus, layout.corpus_questions)
    rng = np.random.default_rng(seed)
    centres = {ds: rng.standard_normal(d) * 2 for ds in BASE}
    x = np.stack([centres[ds] + rng.standard_normal(d) for ds in corpus.dataset]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = corpus.question_id.tolist()
    save_embeddings(x, ids, layout.corpus_embeddings, {"embedding_model": "test-model", "normalized": True})
    for i, model in enumerate(MODELS):
        logit = corpus.dataset.map(BASE).to_numpy() + 0.4 * i + rng.standard_normal(len(corpus))
        pc = (1 / (1 + np.exp(-logit))).astype(np.float32)
        write_parquet(pd.DataFrame({"question_id": ids, "predicted_correctness": pc}), layout.difficulty(model),
                      metadata={"model": model, "embedding_model": "test-model"})
    return layout


def select(layout: Layout, model: str, k: int = 30, lamda: float = 0.2) -> str:
    assert select_main(["--workdir", str(layout.root), "--model_name", model, "--num_select", str(k),
                        "--lamda", str(lamda), "--no_progress"]) == 0
    return str(layout.selection_dir(model, lamda, k))


def fake_method(layout: Layout, like: str, method: str, rows: np.ndarray, name: str) -> str:
    """A selection folder in the common format for another method (the picks given), made from ``like``'s."""
    src = layout.selection_table(like)
    meta = read_parquet_metadata(src)
    report = json.loads(layout.selection_report(like).read_text())
    ids = pd.read_parquet(layout.corpus_embeddings.with_name("corpus.ids.parquet")).question_id.to_numpy()[rows]
    pc = pd.read_parquet(layout.difficulty(report["model"])).set_index("question_id").loc[ids, "predicted_correctness"]
    out = layout.data / "selection" / "fake" / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    sel = pd.DataFrame({"rank": np.arange(1, len(ids) + 1), "question_id": ids, "predicted_correctness": pc.to_numpy()})
    write_parquet(sel, layout.selection_table(out), metadata={**meta, "method": method})
    report.update(method=method, k=len(ids))
    for key in ("annotation_cost", "annotation_cost_text", "annotation_kind", "method_label", "pool_kind"):
        report.pop(key, None)  # recorded by `ddcf select` for ITS method: the fake's registry entry decides
    if method == "ddcf_missing":
        report.pop("method")
    write_json(report, layout.selection_report(out))
    return str(out)
