"""Old name of :mod:`ddcf.bundled` (renamed so the package is not confused with the ``data/`` folder).

Deprecated; removed in ddcf 0.2 (:data:`ddcf._deprecated.DEPRECATED_MODULES`).
"""

from ddcf._deprecated import warn_moved

warn_moved("ddcf.data")
