"""The old module paths kept for users' code: one table, one warning.

Each entry is a one-file shim at the old path that calls :func:`warn_moved` and re-exports the new module's names.
Nothing in ddcf/, tests/, benchmarks/, scripts/ or train/ may import a shim (``tests/core/test_architecture.py``
checks it, with an empty allow-list); ``tests/core/test_deprecated.py`` checks that each one warns and re-exports.
Delete a shim, its row and nothing else when ``REMOVED_IN`` is released.
"""

from __future__ import annotations

import warnings

REMOVED_IN = "0.2"

#: old module -> (its new home, an extra hint for renamed names or "")
DEPRECATED_MODULES: dict[str, tuple[str, str]] = {
    "ddcf.data": ("ddcf.bundled", "the package is not confused with the data/ folder"),
    "ddcf.data.bundled": ("ddcf.bundled.files", ""),
    "ddcf.data.cli": ("ddcf.bundled.cli", ""),
    "ddcf.data.config": ("ddcf.bundled.config", ""),
    "ddcf.generate.backends": ("ddcf.runs.backends", "custom backends register there"),
    "ddcf.predictor.model": ("ddcf.predictor.paper.model", ""),
    "ddcf.predictor.factor_model": ("ddcf.predictor.factor.model", ""),
    "ddcf.predictor.factor_train": ("ddcf.predictor.factor.train", ""),
    "ddcf.verify.choice": ("ddcf.verify.choice_letters", "extract_choice: ddcf.verify.answer_types.choice; "
                           "grade_choices: ddcf.verify.grade"),
    "ddcf.verify.pool": ("ddcf.verify.workers", "MathVerifyPool is MathVerifyWorkers"),
}


def warn_moved(old: str) -> None:
    """The one DeprecationWarning of a shim, raised when ``old`` is first imported."""
    new, hint = DEPRECATED_MODULES[old]
    warnings.warn(f"{old} moved to {new}{f' ({hint})' if hint else ''}; the old path is removed in ddcf "
                  f"{REMOVED_IN}", DeprecationWarning, stacklevel=3)
