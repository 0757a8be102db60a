"""Candidate pools other than the stage-5 corpus pool, and the ``--pool`` ids filter every method shares.

* :func:`restrict` keeps the rows of a pool whose ids are in ``--pool`` (a .txt file of ids, or a table with a
  question_id column);
* :func:`load_seed_pool`: the seed questions the target answered (``--method binary_hard``, ``--method
  passrate_band --passrate_source measured``).  Their "response" is the target's own completion from its verdict
  table (no reference solution exists for seed questions), and the table's ``predicted_correctness`` column holds
  the *measured* pass rate (the report says so: ``inputs.correctness_source``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import hash_ids, load_embeddings, read_table, require_file
from ddcf.layout import Layout


def read_pool_ids(path: str) -> set[str]:
    p = Path(path)
    fix = "pass --pool a .txt file with one question id a line, or a .parquet/.csv table with a question_id column."
    require_file(p, "--pool ids", fix)
    if p.suffix.lower() == ".txt":
        ids = {line.strip() for line in p.read_text().splitlines() if line.strip()}
    else:
        ids = set(read_table(p, "--pool ids", ["question_id"], fix)["question_id"].astype(str))
    if not ids:
        raise DDCFError(f"The --pool file {p} lists no question id.", fix)
    return ids


def restrict(pool, path: str | None):
    """The pool rows whose id is listed in ``path`` (None: the pool itself), in the pool's order."""
    if not path:
        return pool
    want = read_pool_ids(path)
    keep = np.fromiter((q in want for q in pool.ids), dtype=bool, count=len(pool.ids))
    if not keep.any():
        raise DDCFError(
            f"None of the {len(want):,} ids in --pool {path} is a candidate (e.g. {sorted(want)[:3]}; the pool has "
            f"{len(pool.ids):,} questions, e.g. {pool.ids[:3]}).",
            "list ids of the questions this method selects from (corpus ids; seed ids for binary_hard / measured "
            "pass rates), and check --max_score.",
        )
    rows = np.flatnonzero(keep)
    pool.x = np.asarray(pool.x[rows])
    pool.ids = [pool.ids[r] for r in rows]
    pool.predicted_correctness = pool.predicted_correctness[rows]
    pool.questions = pool.questions.iloc[rows].reset_index(drop=True)
    pool.meta = {**pool.meta, "pool_file": str(path), "pool_ids_sha256": hash_ids(pool.ids)}
    return pool


def load_seed_pool(layout: Layout, model: str, need_pass_rates: bool):
    """Seed questions with the target's completion (a correct one when there is one) and measured pass rate."""
    from ddcf.generate.passrate import load_pass_rates, pass_rates
    from ddcf.generate.questions import load_seed_questions
    from ddcf.select.stage import Pool

    vpath = layout.verdicts(model)
    fix = f"answer the seed questions first: python infer.py --model_name {model} (add --n K --temperature T for " \
          "pass rates)."
    require_file(vpath, f"verdict table of {model!r}", fix)
    verdicts = read_table(vpath, f"verdict table of {model!r}", ["question_id", "completion", "correct"], fix)
    if "model" in verdicts.columns and verdicts["model"].nunique() == 1 and str(verdicts["model"].iloc[0]) != model:
        raise InputMismatchError(f"The verdict table {vpath} holds answers of {verdicts['model'].iloc[0]!r}, not "
                                 f"{model!r}.", fix)
    verdicts = verdicts.assign(question_id=verdicts["question_id"].astype(str),
                               correct=verdicts["correct"].astype(bool))
    rates = load_pass_rates(layout, model) if need_pass_rates else pass_rates(verdicts)
    rates = rates.assign(question_id=rates["question_id"].astype(str))
    seed = load_seed_questions(layout)
    arr, emb_ids, manifest = load_embeddings(layout.seed_embeddings, "seed embeddings")
    emb_index = {q: i for i, q in enumerate(emb_ids)}
    # one response per question: a correct completion when there is one, else its first (wrong) one
    first = verdicts.sort_values("correct", ascending=False, kind="stable").drop_duplicates("question_id")
    completion = dict(zip(first["question_id"], first["completion"].astype(str)))
    rated = set(rates["question_id"])
    ids = [q for q in seed["question_id"] if q in emb_index and q in completion and q in rated]
    if not ids:
        raise InputMismatchError(
            f"No seed question has an embedding ({layout.seed_embeddings}), a verdict ({vpath}) and a pass rate "
            f"for {model!r} at once.", "rerun get_question_embeddings.py and infer.py on the current seed table.")
    rows = np.sort(np.array([emb_index[q] for q in ids], dtype=np.int64))
    ids = [emb_ids[r] for r in rows]
    s = seed.set_index("question_id").loc[ids]
    questions = pd.DataFrame({"question_id": ids, "question": s["question"].to_numpy(),
                              "response": [completion[q] for q in ids], "dataset": s["dataset"].astype(str).to_numpy()})
    rate = dict(zip(rates["question_id"], rates["pass_rate"].astype(float)))
    meta = dict(pool_kind="seed", correctness_source="measured pass rate of the target (verdict table)",
                verdicts_file=str(vpath), seed_embeddings=str(layout.seed_embeddings),
                embedding_model=manifest.get("embedding_model"), seed_questions=str(layout.seed_questions),
                pool_ids_sha256=hash_ids(ids))
    return Pool(x=np.asarray(arr[rows]), ids=ids, predicted_correctness=np.array([rate[q] for q in ids]),
                questions=questions, meta=meta)
