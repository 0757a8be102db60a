"""Parsing of the band and weight options (pandas-free: the config checks them before any work).

Bounds follow Reasoning360's difficulty-filtering pipeline (``model_filtering``, README): its filter drops rows
whose pass rate is <= ``--low_thresh`` or >= ``--high_thresh``, so ``--band LO,HI`` keeps ``LO < p < HI`` by
default (``--band_bounds inclusive``: ``LO <= p <= HI``).  Its buckets: impossible ``p == 0``, very hard
``(0, 0.2)``, hard ``[0.2, 0.4)``, medium ``[0.4, 0.6)``, easy ``[0.6, 0.8)``, very easy ``(0.8, 1)``, perfect
``p == 1``; the README leaves ``p == 0.8`` in no bucket, and its ``utils.py`` counts it as very easy, so very
easy is ``[0.8, 1)`` here (every pass rate in exactly one bucket).
"""

from __future__ import annotations

import math

from ddcf.errors import DDCFError

#: the buckets of ddcf.generate.passrate.BUCKETS as closed/open intervals: (lo, hi, lo_open, hi_open)
BUCKET_BANDS = {
    "impossible": (0.0, 0.0, False, False),
    "very hard": (0.0, 0.2, True, True),
    "hard": (0.2, 0.4, False, True),
    "medium": (0.4, 0.6, False, True),
    "easy": (0.6, 0.8, False, True),
    "very easy": (0.8, 1.0, False, True),
    "perfect": (1.0, 1.0, False, False),
}


BOUNDS = ("exclusive", "inclusive")


def parse_band(text: str | None, bounds: str = "exclusive") -> tuple[float, float, bool, bool]:
    """``'LO,HI'`` (0 <= LO <= HI <= 1; open at both ends unless ``bounds`` is inclusive) or a bucket name
    -> (lo, hi, lo_open, hi_open)."""
    fix = ("pass --band LO,HI with 0 <= LO <= HI <= 1 (e.g. --band 0.1,0.9), or a bucket name: "
           + ", ".join(repr(b) for b in BUCKET_BANDS) + ".")
    if bounds not in BOUNDS:
        raise DDCFError(f"--band_bounds {bounds!r} is not one of {', '.join(BOUNDS)}.", "pass exclusive or inclusive.")
    if text is None or not str(text).strip():
        raise DDCFError("--method passrate_band needs --band.", fix)
    name = " ".join(str(text).strip().lower().replace("_", " ").split())
    if name in BUCKET_BANDS:
        return BUCKET_BANDS[name]
    parts = [p.strip() for p in str(text).split(",")]
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise DDCFError(f"--band {text!r} is neither 'LO,HI' nor a pass-rate bucket.", fix) from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not 0.0 <= lo <= hi <= 1.0:
        raise DDCFError(f"--band {text!r} is not a band inside [0, 1] (pass rates lie in [0, 1]).", fix)
    opened = bounds == "exclusive"
    if opened and lo == hi:
        raise DDCFError(f"--band {text!r} is empty: LO < pass rate < HI holds for no pass rate when LO = HI.",
                        "pass LO < HI, or --band_bounds inclusive to keep pass rates equal to LO.")
    return lo, hi, opened, opened


def in_band(values, band: tuple[float, float, bool, bool]):
    """Boolean mask of the values inside the band (numpy arrays or scalars)."""
    lo, hi, lo_open, hi_open = band
    above = values > lo if lo_open else values >= lo
    below = values < hi if hi_open else values <= hi
    return above & below


def parse_weights(text: str, flag: str, n: int) -> list[float]:
    fix = f"pass {n} comma-separated non-negative numbers, not all zero, e.g. {flag} " + ",".join(["1"] * n) + "."
    try:
        w = [float(p) for p in str(text).split(",")]
    except ValueError:
        raise DDCFError(f"{flag} {text!r} is not a list of numbers.", fix) from None
    if len(w) != n or any(not math.isfinite(v) or v < 0 for v in w) or not any(w):
        raise DDCFError(f"{flag} {text!r} must be {n} non-negative weights, not all zero.", fix)
    return w
