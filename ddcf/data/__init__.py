"""Old name of :mod:`ddcf.bundled` (renamed so the package is not confused with the ``data/`` folder).

Deprecated; removed in ddcf 0.2.
"""
