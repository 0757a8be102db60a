"""Moved to :mod:`ddcf.select.kgreedy.torch`; this old name is the same module until integration (shim)."""

import sys

from ddcf.select.kgreedy import torch as _moved

sys.modules[__name__] = _moved
