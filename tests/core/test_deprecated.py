"""Every old module path in ddcf._deprecated.DEPRECATED_MODULES warns (naming its new home and the removal
version) and still gives the old names. The one place allowed to import the shims (test_architecture.py forbids
it everywhere else)."""

from __future__ import annotations

import importlib
import sys

import pytest

from ddcf._deprecated import DEPRECATED_MODULES, REMOVED_IN

# old module -> (a name the old path must still give, the new module's name for it)
SAMPLE = {
    "ddcf.data": (None, None),  # the package itself re-exports nothing (ddcf.bundled defines nothing)
    "ddcf.data.bundled": ("install_bundled_questions", "install_bundled_questions"),
    "ddcf.data.cli": ("main", "main"),
    "ddcf.data.config": ("InstallConfig", "InstallConfig"),
    "ddcf.generate.backends": ("create_backend", "create_backend"),
    "ddcf.predictor.model": ("CorrectnessPredictor", "CorrectnessPredictor"),
    "ddcf.predictor.factor_model": ("FactorPredictor", "FactorPredictor"),
    "ddcf.predictor.factor_train": ("train_factor", "train_factor"),
    "ddcf.verify.choice": ("gold_letter", "gold_letter"),
    "ddcf.verify.pool": ("MathVerifyPool", "MathVerifyWorkers"),
}


def test_every_shim_has_a_sample():
    assert set(SAMPLE) == set(DEPRECATED_MODULES)


def _fresh_import(name: str):
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[loaded]
    parent, _, child = name.rpartition(".")
    if parent in sys.modules and hasattr(sys.modules[parent], child):
        delattr(sys.modules[parent], child)
    return importlib.import_module(name)


@pytest.mark.parametrize("old", sorted(DEPRECATED_MODULES))
def test_shim_warns_and_re_exports(old):
    new_name, _ = DEPRECATED_MODULES[old]
    new = importlib.import_module(new_name)
    with pytest.warns(DeprecationWarning) as caught:
        module = _fresh_import(old)
    text = " ".join(str(w.message) for w in caught)
    assert f"{old} moved to {new_name}" in text and f"removed in ddcf {REMOVED_IN}" in text
    old_attr, new_attr = SAMPLE[old]
    if old_attr is not None:
        assert getattr(module, old_attr) is getattr(new, new_attr)
