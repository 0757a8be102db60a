"""``--method perplexity`` and ``--method least_confidence``: the annotation-dependent baselines.

Both read ``DDCF_data/scores/<model>/scores.parquet``, the target's token log-probabilities of every corpus
response given its question, written by ``ddcf score --model_name M`` (one forward pass of the target per corpus
question: that is their annotation cost).

* perplexity: ``exp(-mean token log-prob)``; the k questions closest to the pool's median perplexity (the
  "middle" of the target's familiarity, neither memorised nor noise); ties to the earlier pool row.
* least_confidence: the sequence probability ``exp(sum token log-probs)``; the k lowest (least confident).

The table's ``cost`` column is the perplexity / the sum of log-probs.
"""

from __future__ import annotations

import numpy as np

from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import read_parquet_metadata, read_table, require_file
from ddcf.select.methods.common import Context, Picks, Timer, ranked


def read_scores(layout, model: str, ids: list[str]):
    path = layout.scores(model)
    fix = (f"run `ddcf score --model_name {model}` first (it scores every corpus response with the target); if the "
           f"target was loaded from a local folder, run `ddcf score --model_name FOLDER --name {model}` so the scores "
           f"are stored under the target's name (this selector looks in {layout.scores_dir(model)}).")
    require_file(path, f"score table of {model!r}", fix)
    meta = read_parquet_metadata(path)
    if meta.get("model") != model:
        raise InputMismatchError(
            f"The score table {path} holds the log-probabilities of {meta.get('model')!r}, not of the target "
            f"{model!r}: a scoring run for another model.", fix)
    df = read_table(path, f"score table of {model!r}", ["question_id", "sum_logprob", "perplexity"], fix)
    df = df.assign(question_id=df["question_id"].astype(str)).set_index("question_id")
    missing = [q for q in ids if q not in df.index or not np.isfinite(df.at[q, "sum_logprob"])]
    if missing:
        raise InputMismatchError(
            f"{len(missing):,} candidate questions have no score in {path} (e.g. {', '.join(missing[:3])}).",
            fix + " A rerun scores only the missing ones.")
    got = df.loc[ids]
    return got["perplexity"].to_numpy(np.float64), got["sum_logprob"].to_numpy(np.float64)


def select(ctx: Context) -> Picks:
    method = ctx.config.method
    with Timer() as t:
        ppl, sum_lp = read_scores(ctx.layout, ctx.model, ctx.pool.ids)
        if method == "perplexity":
            median = float(np.median(ppl))
            rows = ranked(np.abs(ppl - median), ctx.k)
            score, stats = ppl[rows], {"median_perplexity": median}
        elif method == "least_confidence":
            rows = ranked(sum_lp, ctx.k)
            score, stats = sum_lp[rows], {"max_sum_logprob_selected": float(sum_lp[rows].max())}
        else:  # pragma: no cover - the registry maps only these two names here
            raise DDCFError(f"--method {method} is not served by {__name__}.", "pass perplexity or least_confidence.")
    return Picks(indices=rows, score=score, engine=f"{method} on ddcf score log-probs", seconds=t.seconds,
                 stats=stats)
