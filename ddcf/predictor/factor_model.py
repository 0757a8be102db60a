"""Old path of :mod:`ddcf.predictor.factor.model` (the architectures have their own subpackages now).

Deprecated; removed in ddcf 0.2.
"""

from ddcf._deprecated import warn_moved
from ddcf.predictor.factor.model import FACTOR_ARCH_KEYS, TEXT_SCALE, FactorMember, FactorPredictor  # noqa: F401

warn_moved("ddcf.predictor.factor_model")
