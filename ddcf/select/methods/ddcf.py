"""``--method ddcf`` (default): the paper's exact k-greedy (eq. 5) on predicted correctness and embeddings.

``--redundancy floor`` (default) scores redundancy as the released code does, max(0, max cosine to the picks);
``--redundancy signed`` uses the signed max, eq. 5 as the paper writes it.

Inputs: ``factorized_data/<model>.parquet`` (stage 5) and the corpus embeddings.  Corpus annotations: none (the
predictor learnt from seed answers).  Options: ``--lamda``, ``--redundancy``, ``--device``.  The engine is
:mod:`ddcf.select.kgreedy`; every device picks the same questions.
"""

from __future__ import annotations

from ddcf.select.consensus import select as consensus
from ddcf.select.kgreedy.engine import select as kgreedy
from ddcf.select.methods.common import Context, Picks


def select(ctx: Context) -> Picks:
    if ctx.config.stability == "consensus":  # issue 23: the consensus of several k-greedy runs
        return consensus(ctx)
    r = kgreedy(ctx.pool.x, ctx.pool.predicted_correctness, ctx.k, ctx.config.lamda, device=ctx.config.device,
                progress=ctx.config.progress, redundancy=ctx.config.redundancy,
                shards=ctx.config.kgreedy_shards, devices=ctx.config.kgreedy_devices)
    return Picks(indices=r.indices, score=r.cost, engine=r.method, stats=r.stats, seconds=r.seconds,
                 max_similarity=r.max_similarity)
