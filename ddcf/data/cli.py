"""Old path of :mod:`ddcf.bundled.cli` (the package ``ddcf.data`` is now ``ddcf.bundled``, so it is not confused
with the ``data/`` folder).

Deprecated; removed in ddcf 0.2.
"""

import warnings

from ddcf.bundled.cli import *  # noqa: F403

warnings.warn("ddcf.data.cli moved to ddcf.bundled.cli (the old path goes in ddcf 0.2)", DeprecationWarning,
              stacklevel=2)
