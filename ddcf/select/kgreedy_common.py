"""Moved to :mod:`ddcf.select.kgreedy.common`; this old name is the same module until integration (shim)."""

import sys

from ddcf.select.kgreedy import common as _moved

sys.modules[__name__] = _moved
