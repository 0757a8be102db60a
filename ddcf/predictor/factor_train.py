"""Old path of :mod:`ddcf.predictor.factor.train` (the architectures have their own subpackages now).

Deprecated; removed in ddcf 0.2.
"""

from ddcf._deprecated import warn_moved
from ddcf.predictor.factor.train import dense_targets, train_factor, train_member  # noqa: F401

warn_moved("ddcf.predictor.factor_train")
