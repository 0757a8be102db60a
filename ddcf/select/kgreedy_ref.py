"""Moved to :mod:`ddcf.select.kgreedy.reference`; this old name is the same module until integration (shim)."""

import sys

from ddcf.select.kgreedy import reference as _moved

sys.modules[__name__] = _moved
