"""Old path of :mod:`ddcf.runs.backends` (the run toolkit's engines; a custom backend registers there).

Deprecated; removed in ddcf 0.2.  This name is the same module object as the new one, so attributes, monkeypatches
and submodules agree.
"""

import sys

from ddcf._deprecated import warn_moved
from ddcf.runs import backends as _backends

warn_moved("ddcf.generate.backends")
sys.modules[__name__] = _backends
