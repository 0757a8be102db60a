"""Gold answers: GSM8K's ``# 18`` / ``#### 18`` and MATH's LaTeX, plus dataset inference."""

from __future__ import annotations

import re

from ddcf.verify.normalize import format_number, lenient_number, strip_delimiters

GSM8K = "gsm8k"
MATH = "math"

_PLAIN_NUMBER_GOLD = re.compile(r"^(?=.*\d)\s*\$?-?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?\s*$")
_HASH_GOLD = re.compile(r"^\s*#+\s*(.+?)\s*$", re.DOTALL)

# Dataset names that mean "numeric answers, GSM8K-style grading".
_NUMERIC_DATASETS = {"gsm8k", "gsm8k_test", "gsm8k_train", "svamp", "gsm", "asdiv", "mawps"}


def grading_style(dataset: str | None, gold: str) -> str:
    """``'gsm8k'`` (numeric answers; last-number fallback allowed) or ``'math'`` (LaTeX answers).

    With a known dataset name the name decides.  Without one (``None``/""/NaN),
    a ``# N`` gold or a gold that is a plain number means GSM8K-style grading.
    """
    if isinstance(dataset, str) and dataset.strip() and dataset.strip().lower() not in ("unknown", "nan", "none"):
        return GSM8K if dataset.strip().lower() in _NUMERIC_DATASETS else MATH
    g = str(gold)
    if _HASH_GOLD.match(g) and g.lstrip().startswith("#"):
        return GSM8K
    return GSM8K if _PLAIN_NUMBER_GOLD.match(g) else MATH


def normalize_gold(gold: str, style: str) -> str:
    """The gold answer as the verifier compares it.

    GSM8K: ``'# 1,875'`` / ``'#### 1875'`` / ``'1875'`` -> ``'1875'``.
    MATH: the LaTeX without ``$`` delimiters or a ``\\boxed{}`` wrapper.
    """
    g = "" if gold is None else str(gold)
    m = _HASH_GOLD.match(g)
    if m and g.lstrip().startswith("#"):
        g = m.group(1)
    g = strip_delimiters(g)
    if g.startswith("\\boxed{") and g.endswith("}"):
        g = g[len("\\boxed{") : -1].strip()
    if style == GSM8K:
        v = lenient_number(g)
        if v is not None:
            return format_number(v)
    return g
