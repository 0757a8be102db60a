"""The bundled demo data under ``data/bundled/`` and the script logic that derives it.

Sources (all real, public data; see README "Data and licenses"):

* ZeroEval greedy outputs of 44/43 chat LLMs on GSM8K test and MATH Level-5
  test (yuchenlin/ZeroEval, Apache-2.0)  ->  ``seed_completions.parquet``
* GSM8K train (MIT), MATH train (MIT), AIME 1983-2023 (agentica-project/deepscaler,
  MIT)  ->  ``corpus.parquet``

``build_bundled_data`` is what ``scripts/build_bundled_data.py`` runs against
``../shared/data``; ``install_bundled_questions`` copies the question tables
into a work directory's layout for the demo.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.artifacts.corpus import read_corpus, write_corpus
from ddcf.artifacts.seed import write_seed
from ddcf.embed.cache import EmbeddingCache
from ddcf.errors import DDCFError
from ddcf.io import load_embeddings, read_table, text_hash, write_parquet
from ddcf.layout import Layout
from ddcf.verify.completions import COMPLETION_COLUMNS, seed_questions_from_completions

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_DIR = REPO_ROOT / "data" / "bundled"
SEED_COMPLETIONS = BUNDLED_DIR / "seed_completions.parquet"
CORPUS = BUNDLED_DIR / "corpus.parquet"

# Completions table: the input of infer.py's precomputed mode.

CORPUS_COLUMNS = ["question_id", "question", "response", "answer", "dataset"]

_SEED_DATASETS = {"gsm8k_test": "gsm8k", "math_level5_test": "math"}


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def seed_question_id(dataset: str, source_id: str) -> str:
    """Stable id of a ZeroEval seed question: ``gsm8k_test/12`` or ``math_level5_test/7``."""
    sid = str(source_id)
    if sid.startswith("gsm8k-main-test-#"):
        sid = sid.split("#", 1)[1]
    return f"{dataset}/{sid}"


def build_seed_completions(shared_data: Path) -> pd.DataFrame:
    src = shared_data / "seed_outputs" / "zeroeval_outputs.parquet"
    df = pd.read_parquet(src)
    out = pd.DataFrame(
        {
            "model": df["model"].astype(str),
            "question_id": [seed_question_id(d, s) for d, s in zip(df["dataset"], df["source_id"])],
            "question": df["question"].astype(str),
            "gold": df["gold"].astype(str),
            "dataset": df["dataset"].map(_SEED_DATASETS).fillna(df["dataset"]).astype(str),
            "completion": df["output"].fillna("").astype(str),
        }
    )
    return out.sort_values(["model", "question_id"], kind="stable").reset_index(drop=True)


def build_corpus(shared_data: Path) -> pd.DataFrame:
    corpus = shared_data / "corpus"
    rows: list[dict] = []
    for i, r in enumerate(_read_jsonl(corpus / "gsm8k_train.jsonl")):
        rationale = r["answer"]
        rows.append(
            dict(
                question_id=f"gsm8k_train/{i}",
                question=r["question"],
                response=rationale,
                answer=rationale.rsplit("####", 1)[-1].strip(),
                dataset="gsm8k",
            )
        )
    for i, r in enumerate(_read_jsonl(corpus / "math_train.jsonl")):
        rows.append(
            dict(
                question_id=f"math_train/{i}",
                question=r["problem"],
                response=r["solution"],
                answer=str(r.get("answer", "")),
                dataset="math",
            )
        )
    for r in _read_jsonl(corpus / "aime_1983_2023.jsonl"):
        rows.append(
            dict(
                question_id=f"aime/{r['year']}-{r.get('aime_number', 1)}-{r['problem_number']}",
                question=r["problem"],
                response=r["solution"],
                answer=str(r["answer"]),
                dataset="aime",
            )
        )
    df = pd.DataFrame(rows)
    if df["question_id"].duplicated().any():
        dup = df.loc[df["question_id"].duplicated(), "question_id"].iloc[0]
        raise RuntimeError(f"duplicate corpus question id {dup}")
    return df


def build_bundled_data(shared_data: Path, out_dir: Path = BUNDLED_DIR) -> dict[str, Path]:
    if not (shared_data / "seed_outputs").is_dir():
        raise DDCFError(
            f"{shared_data} does not look like the shared data folder (no seed_outputs/ inside).",
            "pass --shared_data pointing at ../shared/data.",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = build_seed_completions(shared_data)
    corpus = build_corpus(shared_data)
    prov = {"built_by": "scripts/build_bundled_data.py", "source": "shared/data (see README)"}
    return {
        "seed_completions": write_parquet(seed, out_dir / SEED_COMPLETIONS.name, metadata=prov),
        "corpus": write_parquet(corpus, out_dir / CORPUS.name, metadata=prov),
    }


def install_bundled_questions(layout: Layout, keep_duplicates: bool = False) -> dict:
    """Write the bundled seed and corpus question tables into ``layout``; the corpus without its exact duplicate
    question texts (AIME problems that MATH train repeats) unless ``keep_duplicates``."""
    fix = ("restore data/bundled/ from git (git checkout -- data/bundled) or rebuild it with "
           "scripts/build_bundled_data.py.")
    completions = read_table(SEED_COMPLETIONS, "bundled seed completions", COMPLETION_COLUMNS, fix)
    corpus = read_table(CORPUS, "bundled corpus", CORPUS_COLUMNS, fix)
    seed = seed_questions_from_completions(completions)
    write_seed(layout, seed, provenance={"source": str(SEED_COMPLETIONS.name)})
    written = write_corpus(layout, corpus, provenance={"source": str(CORPUS.name)}, keep_duplicates=keep_duplicates)
    return {"seed_questions": len(seed), "corpus_questions": written.rows, **written.dedupe.record()}


# --------------------------------------------------------------------------- shipped embedding cache
# Embedding the ~16k corpus questions with MiniLM takes 6-15 minutes on 2 CPU cores, which would be
# most of the demo.  We therefore ship the corpus vectors (float16, ~12 MB) as a ready-made chunk of
# the content-addressed embedding cache (ddcf/embed/cache.py).  It is keyed by text hash and model
# name, so it is only ever used for exactly the same text and the same packaged model; the demo
# still embeds the seed questions live, and `--overwrite` on get_question_embeddings.py recomputes
# everything.  Both directions go through EmbeddingCache, the only code that knows its file format.
EMBED_CACHE_DIR = BUNDLED_DIR / "embedding_cache"
# Installed chunks get numbers from here on, apart from the ones the stage writes itself (0, 1, ...).
SHIPPED_CHUNK_OFFSET = 900000


def export_corpus_embedding_cache(workdir: Path, out_dir: Path = EMBED_CACHE_DIR) -> Path:
    """Write a finished run's corpus embeddings as one float16 cache chunk under ``out_dir``."""
    layout = Layout(workdir)
    arr, ids, manifest = load_embeddings(layout.corpus_embeddings, "corpus embeddings", mmap=False)
    corpus = read_corpus(layout, columns=("question_id", "question"), fix="run the demo first.")
    text = dict(zip(corpus["question_id"], corpus["question"].astype(str)))
    hashes, rows, seen = [], [], set()
    for i, qid in enumerate(ids):
        h = text_hash(text[qid])
        if h not in seen:
            seen.add(h)
            hashes.append(h)
            rows.append(i)
    cache = EmbeddingCache(out_dir, manifest["embedding_model"])
    cache.clear()  # the shipped cache is exactly this one chunk
    cache.add(hashes, np.asarray(arr[rows], dtype=np.float16), chunk=0)
    return cache.dir


def install_bundled_embedding_cache(layout: Layout, warnings: list[str] | None = None) -> int:
    """Import the shipped cache into the layout's embedding cache; returns the number of shipped vectors.

    Importing twice copies nothing: a shipped chunk already installed is kept.  A damaged chunk (shipped or
    installed) is skipped or set aside, with a line in ``warnings``; its texts are then embedded by stage 3.
    """
    n = 0
    for model in EmbeddingCache.models(EMBED_CACHE_DIR):
        # The shipped copy lives in the repository: read it, never move or clean anything there.
        shipped = EmbeddingCache(EMBED_CACHE_DIR, model, quarantine=False)
        installed = EmbeddingCache(layout.embedding_shards, model)
        n += installed.import_from(shipped, first_chunk=SHIPPED_CHUNK_OFFSET)
        if warnings is not None:
            fix = " (restore it with: git checkout -- data/bundled/embedding_cache)" if shipped.warnings else ""
            warnings.extend([w + fix for w in shipped.warnings] + installed.warnings)
    return n
