"""``ddcf score``: the target model's token log-probabilities of every corpus response given its question.

The input of ``k_greedy_selection.py --method perplexity|least_confidence``.  See :mod:`ddcf.score.stage`.
"""
