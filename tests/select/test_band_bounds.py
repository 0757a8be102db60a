"""Pass-rate bands and buckets at their boundaries, against Reasoning360's difficulty-filtering README.

Its ``run_filter.py``: "Drop rows whose low_pass_rate <= --low_thresh" and "... high_pass_rate >= --high_thresh",
so ``--band LO,HI`` keeps ``LO < p < HI`` (``--band_bounds inclusive``: ``LO <= p <= HI``).  Its buckets:
impossible == 0, very hard (0, 0.2), hard [0.2, 0.4), medium [0.4, 0.6), easy [0.6, 0.8), very easy (0.8, 1),
perfect == 1; 0.8 itself is very easy here (the README leaves it in no bucket, its ``utils.py`` counts it there).
Pass rates below are k / n of real sample counts, so the boundaries are hit exactly.
"""

import numpy as np
import pytest

from ddcf.errors import DDCFError
from ddcf.generate.passrate import BUCKETS, bucket
from ddcf.select.methods.band import BUCKET_BANDS, in_band, parse_band

RATES = np.array([0 / 10, 1 / 10, 2 / 10, 3 / 10, 4 / 16, 8 / 16, 9 / 10, 10 / 10])


def test_band_is_exclusive_by_default_like_the_released_filter():
    band = parse_band("0.1,0.9")  # the README's example: --low_thresh 0.1 --high_thresh 0.9
    assert band == (0.1, 0.9, True, True)
    # 0.1 (1 of 10) and 0.9 (9 of 10) are dropped, as run_filter.py drops <= 0.1 and >= 0.9
    assert in_band(RATES, band).tolist() == [False, False, True, True, True, True, False, False]
    assert in_band(RATES, parse_band("0,1")).tolist() == [False] + [True] * 6 + [False]  # drops 0 and 1 only


def test_inclusive_band_keeps_its_ends():
    band = parse_band("0.1,0.9", "inclusive")
    assert band == (0.1, 0.9, False, False)
    assert in_band(RATES, band).tolist() == [False, True, True, True, True, True, True, False]
    assert in_band(RATES, parse_band("0.5,0.5", "inclusive")).tolist() == [False] * 5 + [True, False, False]


def test_an_exclusive_band_with_equal_ends_is_refused():
    with pytest.raises(DDCFError, match="empty"):
        parse_band("0.5,0.5")
    with pytest.raises(DDCFError, match="band_bounds"):
        parse_band("0.1,0.9", "open")


@pytest.mark.parametrize("p,name", [
    (0.0, "impossible"), (1 / 16, "very hard"), (0.2, "hard"), (2 / 10, "hard"), (0.4, "medium"),
    (0.6, "easy"), (6 / 10, "easy"), (0.8, "very easy"), (8 / 10, "very easy"), (15 / 16, "very easy"),
    (1.0, "perfect"),
])
def test_buckets_at_their_boundaries(p, name):
    assert bucket(p) == name
    # the --band bucket keeps exactly the rates that bucket() names so
    assert bool(in_band(np.array([p]), parse_band(name))[0])
    others = [b for b in BUCKETS if b != name]
    assert not any(bool(in_band(np.array([p]), BUCKET_BANDS[b])[0]) for b in others)


def test_bucket_bands_are_reasoning360s_intervals():
    assert BUCKET_BANDS["very hard"] == (0.0, 0.2, True, True)
    assert BUCKET_BANDS["hard"] == (0.2, 0.4, False, True)
    assert BUCKET_BANDS["medium"] == (0.4, 0.6, False, True)
    assert BUCKET_BANDS["easy"] == (0.6, 0.8, False, True)
    assert BUCKET_BANDS["very easy"] == (0.8, 1.0, False, True)
    assert BUCKET_BANDS["impossible"] == (0.0, 0.0, False, False)
    assert BUCKET_BANDS["perfect"] == (1.0, 1.0, False, False)
