"""Old path of :mod:`ddcf.bundled.cli` (the package ``ddcf.data`` is now ``ddcf.bundled``, so it is not confused
with the ``data/`` folder).

Deprecated; removed in ddcf 0.2.
"""

from ddcf._deprecated import warn_moved
from ddcf.bundled.cli import *  # noqa: F403

warn_moved("ddcf.data.cli")
