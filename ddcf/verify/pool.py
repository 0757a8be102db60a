"""Old name of :mod:`ddcf.verify.workers` (renamed: "pool" means the questions a selector picks from).

Deprecated; removed in ddcf 0.2.  ``MathVerifyPool`` is :class:`ddcf.verify.workers.MathVerifyWorkers`.
"""

from ddcf._deprecated import warn_moved
from ddcf.verify.workers import MathVerifyWorkers as MathVerifyPool  # noqa: F401
from ddcf.verify.workers import default_workers  # noqa: F401

warn_moved("ddcf.verify.pool")
