"""Old path of :mod:`ddcf.bundled.files` (the package ``ddcf.data`` is now ``ddcf.bundled``, so it is not confused
with the ``data/`` folder).

Deprecated; removed in ddcf 0.2.
"""

import warnings

from ddcf.bundled.files import *  # noqa: F403
from ddcf.bundled.files import _SEED_DATASETS, _read_jsonl  # noqa: F401

warnings.warn("ddcf.data.bundled moved to ddcf.bundled.files (the old path goes in ddcf 0.2)", DeprecationWarning,
              stacklevel=2)
