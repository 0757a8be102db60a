"""Moved to :mod:`ddcf.runs.backends` (the run toolkit's engines); this alias is removed at integration."""

import sys

from ddcf.runs import backends as _backends

sys.modules[__name__] = _backends  # the same module object: attributes, monkeypatches and submodules agree
