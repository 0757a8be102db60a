"""Old path of :mod:`ddcf.bundled.config` (the package ``ddcf.data`` is now ``ddcf.bundled``, so it is not confused
with the ``data/`` folder).

Deprecated; removed in ddcf 0.2.
"""

import warnings

from ddcf.bundled.config import *  # noqa: F403

warnings.warn("ddcf.data.config moved to ddcf.bundled.config (the old path goes in ddcf 0.2)", DeprecationWarning,
              stacklevel=2)
