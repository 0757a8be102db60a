"""The exact k-greedy engine (paper eq. 5): one objective, several implementations that pick the same rows.

:mod:`~ddcf.select.kgreedy.common` (objective, conventions, shared helpers), :mod:`~ddcf.select.kgreedy.reference`
(the straightforward method), :mod:`~ddcf.select.kgreedy.lazy` and :mod:`~ddcf.select.kgreedy.lazy_state` (the
fast exact lazy method), :mod:`~ddcf.select.kgreedy.torch` (torch / CUDA), :mod:`~ddcf.select.kgreedy.exact` (the
canonical similarity every implementation shares), :mod:`~ddcf.select.kgreedy.engine` (the best one for a device).
Importing this package imports nothing heavy.
"""
