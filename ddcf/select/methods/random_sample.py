"""``--method random``: k questions of the pool drawn uniformly with ``--seed`` (the paper's Random baseline).

Inputs: the pool only.  Corpus annotations: none.  The table's ``cost`` column is the draw order (1, 2, ...).
"""

from __future__ import annotations

import numpy as np

from ddcf.select.methods.common import Context, Picks, Timer, sample


def select(ctx: Context) -> Picks:
    with Timer() as t:
        rows = sample(ctx.rng, np.arange(len(ctx.pool.ids)), ctx.k, "candidate questions", "lower --num_select.")
    return Picks(indices=rows, score=np.arange(1, ctx.k + 1, dtype=np.float64), engine="numpy default_rng",
                 seconds=t.seconds)
