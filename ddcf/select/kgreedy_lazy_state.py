"""Moved to :mod:`ddcf.select.kgreedy.lazy_state`; this old name is the same module until integration (shim)."""

import sys

from ddcf.select.kgreedy import lazy_state as _moved

sys.modules[__name__] = _moved
