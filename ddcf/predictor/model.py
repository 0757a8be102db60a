"""Old path of :mod:`ddcf.predictor.paper.model` (the architectures have their own subpackages now).

Deprecated; removed in ddcf 0.2.
"""

from ddcf._deprecated import warn_moved
from ddcf.predictor.paper.model import ARCH_KEYS, OPTIONAL_ARCH_KEYS, CorrectnessPredictor, DropPath, ResidualMLPBlock  # noqa: F401

warn_moved("ddcf.predictor.model")
