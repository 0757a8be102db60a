"""Old name of :mod:`ddcf.verify.workers` (renamed: "pool" means the questions a selector picks from).

Deprecated; removed in ddcf 0.2.  ``MathVerifyPool`` is :class:`ddcf.verify.workers.MathVerifyWorkers`.
"""

import warnings

from ddcf.verify.workers import MathVerifyWorkers as MathVerifyPool  # noqa: F401
from ddcf.verify.workers import default_workers  # noqa: F401

warnings.warn("ddcf.verify.pool is renamed ddcf.verify.workers, MathVerifyPool MathVerifyWorkers (the old names go "
              "in ddcf 0.2)", DeprecationWarning, stacklevel=2)
