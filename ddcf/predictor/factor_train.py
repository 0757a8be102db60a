"""Old path of :mod:`ddcf.predictor.factor.train` (the architectures have their own subpackages now).

Deprecated; removed in ddcf 0.2.
"""

import warnings

from ddcf.predictor.factor.train import dense_targets, train_factor, train_member  # noqa: F401

warnings.warn("ddcf.predictor.factor_train moved to ddcf.predictor.factor.train (the old path goes in ddcf 0.2)",
              DeprecationWarning,
              stacklevel=2)
