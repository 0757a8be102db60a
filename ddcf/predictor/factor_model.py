"""Old path of :mod:`ddcf.predictor.factor.model` (the architectures have their own subpackages now).

Deprecated; removed in ddcf 0.2.
"""

import warnings

from ddcf.predictor.factor.model import FACTOR_ARCH_KEYS, TEXT_SCALE, FactorMember, FactorPredictor  # noqa: F401

warnings.warn("ddcf.predictor.factor_model moved to ddcf.predictor.factor.model (the old path goes in ddcf 0.2)",
              DeprecationWarning,
              stacklevel=2)
