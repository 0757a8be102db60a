"""Stage 6: exact k-greedy difficulty/diversity selection (paper eq. 5) and its outputs.

    from ddcf.select import kgreedy_fast, kgreedy_reference
    result = kgreedy_fast(embeddings, predicted_correctness, k=1000, lamda=0.2)
    result.indices  # rows in pick order

See :mod:`ddcf.select.kgreedy` (objective, conventions, CPU algorithms),
:mod:`ddcf.select.exact` (the canonical similarity every implementation shares),
:mod:`ddcf.select.kgreedy_torch` (torch / CUDA) and :mod:`ddcf.select.stage` (the stage).
"""

from ddcf.select.kgreedy import KGreedyResult, kgreedy_fast, kgreedy_reference

__all__ = ["KGreedyResult", "kgreedy_fast", "kgreedy_reference"]
