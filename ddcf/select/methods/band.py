"""Parsing of the band and weight options (pandas-free: the config checks them before any work)."""

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


def parse_band(text: str | None) -> tuple[float, float, bool, bool]:
    """``'LO,HI'`` (inclusive, 0 <= LO <= HI <= 1) or a bucket name -> (lo, hi, lo_open, hi_open)."""
    fix = ("pass --band LO,HI with 0 <= LO <= HI <= 1 (e.g. --band 0.1,0.7), or a bucket name: "
           + ", ".join(repr(b) for b in BUCKET_BANDS) + ".")
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
    return lo, hi, False, False


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
