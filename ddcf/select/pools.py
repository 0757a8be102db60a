"""The candidates a selector picks from, as one :class:`Pool` (rows aligned: vectors, ids, scores, questions).

* :func:`load_pool`: the corpus pool of stage 6, every question of the stage-5 table with predicted correctness
  <= ``--max_score``, in the order of the corpus embedding file (also used by the report's lambda sweep);
* :func:`load_seed_pool`: the seed questions the target answered (``--method binary_hard``, ``--method
  passrate_band --passrate_source measured``).  Their "response" is the target's own completion from its verdict
  table (no reference solution exists for seed questions), and the pool's ``predicted_correctness`` holds the
  *measured* pass rate (the report says so: ``inputs.correctness_source``);
* :func:`load_method_pool`: the pool of ``--method`` (its registry entry says which), then ``--max_score`` and
  ``--pool`` (a .txt file of ids, or a table with a question_id column), each through :meth:`Pool.take`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ddcf.artifacts.corpus import iter_corpus, read_corpus
from ddcf.artifacts.difficulty import COLUMN, SE_COLUMN, read_difficulty
from ddcf.artifacts.verdicts import read_verdicts
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.generate.passrate import load_pass_rates, pass_rates
from ddcf.generate.questions import load_seed_questions
from ddcf.io import blank_text, hash_ids, load_embeddings, read_table, require_file
from ddcf.layout import Layout
from ddcf.select.methods import get_method

#: the text columns of a pool (the SFT example's turns)
TEXTS = ("question", "response")


@dataclass
class Pool:
    x: np.ndarray  # (n, d) rows of the candidates, embedding-file order (the memmap itself when nothing is filtered)
    ids: list[str]
    predicted_correctness: np.ndarray  # float64 (n,)
    # question_id, dataset (+ question, response when ``corpus`` is None: the seed pool); aligned with ids
    questions: pd.DataFrame
    meta: dict
    warnings: list[str] = field(default_factory=list)
    # the corpus pool's texts stay in the corpus file (issue 25: ~10k characters a row at the paper's scale):
    # read for the picked rows only (:meth:`texts`) or streamed for a per-row statistic (:meth:`text_values`)
    corpus: Layout | None = None
    # the ensemble members' standard error of each row's p (float64), when the difficulty table has it (factor
    # ensembles): read once here for report.json's stability estimate and for --stability consensus
    se: np.ndarray | None = None

    def take(self, rows, **meta) -> "Pool":
        """A new pool of these rows (in this order), ``meta`` added to its meta; this pool is left as it is."""
        rows = np.asarray(rows, dtype=np.int64)
        return Pool(x=np.asarray(self.x[rows]), ids=[self.ids[r] for r in rows],
                    predicted_correctness=self.predicted_correctness[rows],
                    questions=self.questions.iloc[rows].reset_index(drop=True), meta={**self.meta, **meta},
                    warnings=list(self.warnings), corpus=self.corpus,
                    se=None if self.se is None else self.se[rows])

    def texts(self, rows, columns: Sequence[str] = TEXTS) -> pd.DataFrame:
        """question_id + ``columns`` of these pool rows, in this order (from the corpus file: only these rows)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.corpus is None or all(c in self.questions.columns for c in columns):
            return self.questions.iloc[rows][["question_id", *columns]].reset_index(drop=True)
        return read_corpus(self.corpus, columns=tuple(columns), ids=[self.ids[r] for r in rows])

    def text_values(self, column: str, fn: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """``fn`` (texts -> one value or row of values per text, row by row independent) of every pool row's
        ``column``, aligned with the pool; the corpus is streamed in batches, so only the values are kept."""
        if self.corpus is None or column in self.questions.columns:
            return np.asarray(fn(self.questions[column].astype(str).tolist()))
        where = {q: i for i, q in enumerate(self.ids)}
        out = None
        for batch in iter_corpus(self.corpus, (column,)):
            pos = np.fromiter((where.get(q, -1) for q in batch["question_id"]), np.int64, len(batch))
            hit = pos >= 0
            if not hit.any():
                continue
            values = np.asarray(fn(batch[column][hit].astype(str).tolist()))
            if out is None:
                out = np.zeros((len(self.ids), *values.shape[1:]), values.dtype)
            out[pos[hit]] = values
        if out is None:  # every pool id is in the corpus (load_pool checked): an empty pool
            out = np.asarray(fn([]))
        return out


def at_most(scores: np.ndarray, max_score: float, what: str) -> np.ndarray:
    """The mask of ``scores <= max_score`` (``--max_score``); an error when it keeps nothing."""
    keep = scores <= max_score
    if not keep.any():
        lo = float(np.min(scores))
        raise DDCFError(
            f"--max_score {max_score:g} leaves no candidate: the lowest {what} is {lo:.4f}.",
            f"raise --max_score above {lo:.4f} (default 1.0 keeps every question).",
        )
    return keep


def pool_texts_blank(layout: Layout, ids: list[str]) -> tuple[np.ndarray, np.ndarray, bool]:
    """(question blank, response blank) of the pool ids, and whether any corpus row has a response; the
    corpus texts are streamed batch by batch and only these booleans kept (:func:`ddcf.io.blank_text`)."""
    where = {q: i for i, q in enumerate(ids)}
    q_blank, r_blank = np.zeros(len(ids), bool), np.zeros(len(ids), bool)
    annotated = False
    for batch in iter_corpus(layout, TEXTS):
        pos = np.fromiter((where.get(q, -1) for q in batch["question_id"]), np.int64, len(batch))
        hit = pos >= 0
        r = blank_text(batch["response"]).to_numpy(bool)
        annotated = annotated or not r.all()
        q_blank[pos[hit]] = blank_text(batch["question"][hit]).to_numpy(bool)
        r_blank[pos[hit]] = r[hit]
    return q_blank, r_blank, annotated


def load_pool(layout: Layout, model: str, max_score: float = 1.0) -> Pool:
    """Join predicted correctness, embeddings and question ids by question id; filter by ``max_score``.

    The corpus's texts are not kept (issue 25): the pool holds question_id and dataset; :meth:`Pool.texts`
    reads the texts of the rows a stage outputs."""
    pred, dmeta, dpath = read_difficulty(layout, model, optional=(SE_COLUMN,))
    cq = read_corpus(layout, columns=("question_id", "dataset"))
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

    pred = pred[at_most(pred[COLUMN].to_numpy(dtype=np.float64), max_score, f"predicted correctness for {model}")]
    rows = np.sort(np.fromiter((emb_index[q] for q in pred["question_id"]), dtype=np.int64, count=len(pred)))
    ids = [emb_ids[r] for r in rows]
    p_by_id = dict(zip(pred["question_id"], pred[COLUMN].to_numpy()))
    predicted = np.array([p_by_id[q] for q in ids], dtype=np.float32).astype(np.float64)
    se = None
    if SE_COLUMN in pred.columns:
        se_by_id = dict(zip(pred["question_id"], pred[SE_COLUMN].to_numpy(np.float64)))
        se = np.array([se_by_id[q] for q in ids], np.float64)

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
    q_blank, r_blank, annotated = pool_texts_blank(layout, ids)
    for column, empty in (("question", q_blank), ("response", r_blank)) if annotated else (("question", q_blank),):
        if empty.any():  # an empty turn is no SFT example
            raise DDCFError(
                f"{int(empty.sum()):,} candidate questions have an empty {column} in {layout.corpus_questions} "
                f"(e.g. {', '.join(map(repr, [ids[i] for i in np.flatnonzero(empty)[:5]]))}); they cannot become "
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
    return Pool(x=x, ids=ids, predicted_correctness=predicted, questions=questions, meta=meta, warnings=warnings,
                corpus=layout, se=se)


def load_seed_pool(layout: Layout, model: str, need_pass_rates: bool) -> Pool:
    """Seed questions with the target's completion (a correct one when there is one) and measured pass rate."""
    vpath = layout.verdicts(model)
    fix = f"answer the seed questions first: python infer.py --model_name {model} (add --n K --temperature T for " \
          "pass rates)."
    # the one reader: the model's own table (recorded model and 'model' column), ids as text
    verdicts = read_verdicts(layout, model, columns=("question_id", "completion", "correct"), fix=fix)
    verdicts = verdicts.assign(correct=verdicts["correct"].astype(bool))
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
                pool_ids_sha256=hash_ids(ids), verdict_rows=int(len(verdicts)))
    return Pool(x=np.asarray(arr[rows]), ids=ids, predicted_correctness=np.array([rate[q] for q in ids]),
                questions=questions, meta=meta)


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


def restrict(pool: Pool, path: str | None) -> Pool:
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
    return pool.take(rows, pool_file=str(path), pool_ids_sha256=hash_ids([pool.ids[r] for r in rows]))


def load_method_pool(layout: Layout, config) -> Pool:
    """The candidates of ``config.method``: the corpus pool or the seed pool (its registry entry's pool kind),
    then --max_score and --pool."""
    if get_method(config.method).pool_kind(config) == "seed":
        pool = load_seed_pool(layout, config.model_name, need_pass_rates=get_method(config.method).measured_pass_rates)
        keep = at_most(pool.predicted_correctness, config.max_score, "measured pass rate")
        if not keep.all():
            pool = pool.take(np.flatnonzero(keep))
    else:
        pool = load_pool(layout, config.model_name, config.max_score)
    return restrict(pool, config.pool)
