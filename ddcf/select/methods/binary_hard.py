"""``--method binary_hard``: a seeded sample of the seed questions the target answered wrong (paper baseline).

Inputs: the target's verdict table ``DDCF_data/verdicts/<model>.parquet`` (``infer.py --model_name M``), the seed
questions and seed embeddings.  Corpus annotations: none, but the target's answers of the *seed* questions.
"Answered wrong" = no correct completion among its verdict rows (pass rate 0; with one answer per question, that
answer was wrong).  These are seed questions, not corpus ones: the SFT dataset takes the target's own seed-set
completion as the response, and the table's ``predicted_correctness`` column is the measured pass rate (0).
"""

from __future__ import annotations

import numpy as np

from ddcf.select.methods.common import Context, Picks, Timer, sample


def select(ctx: Context) -> Picks:
    with Timer() as t:
        wrong = np.flatnonzero(ctx.pool.predicted_correctness == 0.0)
        rows = sample(ctx.rng, wrong, ctx.k, f"seed questions {ctx.model} answered wrong",
                      "lower --num_select, or answer more seed questions with infer.py.")
    return Picks(indices=rows, score=np.arange(1, ctx.k + 1, dtype=np.float64), engine="numpy default_rng",
                 seconds=t.seconds, stats={"answered_wrong": int(len(wrong))})
