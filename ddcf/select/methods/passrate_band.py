"""``--method passrate_band``: keep the questions whose pass rate for the target lies in ``--band``, then pick k.

The difficulty-filtering pipelines' method.  ``--passrate_source predicted`` (default) uses the corpus pool and
its stage-5 predicted correctness as the pass rate (corpus annotations: none); ``measured`` uses the seed
questions and the pass rates of ``infer.py --n K --temperature T`` (``Layout.passrates(model)``; corpus
annotations: none, but K answers of the target per seed question; the responses are its completions).
``--band LO,HI`` (``LO < p < HI`` as Reasoning360's filter; ``--band_bounds inclusive``: ``LO <= p <= HI``) or a
bucket name of :data:`ddcf.generate.passrate.BUCKETS` (same intervals);
``--band_pick``: a seeded sample (default) or the hardest / easiest first.  The table's ``cost`` column is the
pass rate.
"""

from __future__ import annotations

import numpy as np

from ddcf.errors import DDCFError
from ddcf.select.methods.band import in_band, parse_band
from ddcf.select.methods.common import Context, Picks, Timer, ranked, sample


def select(ctx: Context) -> Picks:
    band = parse_band(ctx.config.band, getattr(ctx.config, "band_bounds", "exclusive"))
    rate = np.asarray(ctx.pool.predicted_correctness, dtype=np.float64)
    with Timer() as t:
        inside = np.flatnonzero(in_band(rate, band))
        what = f"candidate questions with a {ctx.config.passrate_source} pass rate in --band {ctx.config.band}"
        fix = "widen --band, lower --num_select, or raise --max_score."
        if len(inside) < ctx.k:
            raise DDCFError(f"--num_select {ctx.k:,} is larger than the {len(inside):,} {what}.", fix)
        pick = ctx.config.band_pick
        if pick == "sample":
            rows = sample(ctx.rng, inside, ctx.k, what, fix)
        else:
            rows = inside[ranked(rate[inside], ctx.k, descending=pick == "easiest")]
    return Picks(indices=rows, score=rate[rows], engine=f"band {band[:2]} ({pick})", seconds=t.seconds,
                 stats={"in_band": int(len(inside)), "band": list(band[:2]), "open_ends": list(band[2:])})
