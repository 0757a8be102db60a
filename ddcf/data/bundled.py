"""Old path of :mod:`ddcf.bundled.files` (the package ``ddcf.data`` is now ``ddcf.bundled``, so it is not confused
with the ``data/`` folder).

Deprecated; removed in ddcf 0.2.
"""

from ddcf._deprecated import warn_moved
from ddcf.bundled.files import *  # noqa: F403
from ddcf.bundled.files import _SEED_DATASETS, _read_jsonl  # noqa: F401

warn_moved("ddcf.data.bundled")
