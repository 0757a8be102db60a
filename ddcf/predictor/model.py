"""Old path of :mod:`ddcf.predictor.paper.model` (the architectures have their own subpackages now).

Deprecated; removed in ddcf 0.2.
"""

import warnings

from ddcf.predictor.paper.model import ARCH_KEYS, OPTIONAL_ARCH_KEYS, CorrectnessPredictor, DropPath, ResidualMLPBlock  # noqa: F401

warnings.warn("ddcf.predictor.model moved to ddcf.predictor.paper.model (the old path goes in ddcf 0.2)",
              DeprecationWarning,
              stacklevel=2)
