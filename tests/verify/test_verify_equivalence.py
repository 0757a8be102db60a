import pandas as pd
import pytest

from ddcf.verify.equivalence import Verifier, cache_version, fast_verdict, gold_key, prediction_key


def keys(pred, gold, style="math"):
    gk = gold_key(gold, style)
    return prediction_key(pred, style, gk), gk, style


@pytest.mark.parametrize(
    "pred, gold, correct, method",
    [
        ("\\dfrac{1}{2}", "\\frac{1}{2}", True, "exact"),
        ("0.5", "\\frac{1}{2}", True, "numeric"),
        ("\\frac12", "0.5", True, "numeric"),
        ("x=3", "3", True, "exact"),
        ("x=3.0", "3", True, "numeric"),
        ("28+9=37", "37", True, "exact"),
        ("47 degrees", "47", True, "exact"),
        ("5\\text{ cm}", "5", True, "numeric"),
        ("1112112", "1112112_3", True, "exact"),
        ("31.\\overline{6}", "31", False, "numeric"),  # math-verify itself gets this one wrong
        ("-1,1", "1", False, "numeric"),
        ("1,1", "1", True, "numeric"),
        ("x+1", "4", False, "symbolic"),
        ("There is no solution", "4", False, "symbolic"),
        ("$1,200", "# 1,200", True, "exact"),
        ("18 dollars", "18", True, "exact"),
    ],
)
def test_fast_path(pred, gold, correct, method):
    style = "gsm8k" if gold.startswith("#") else "math"
    gk = gold_key(gold.lstrip("# ").replace(",", "") if style == "gsm8k" else gold, style)
    v = fast_verdict(prediction_key(pred, style, gk), gk, style)
    assert v is not None and (v.correct, v.method) == (correct, method)


def test_fast_path_leaves_hard_pairs_to_math_verify():
    for pred, gold in [("\\sqrt{12}", "2\\sqrt{3}"), ("(-\\infty,3)", "(-\\infty,3]"), ("10\\%", "0.1")]:
        assert fast_verdict(*keys(pred, gold)) is None


@pytest.fixture
def verifier(shared_verifier):
    return shared_verifier


MATH_VERIFY_CASES = [
    ("\\sqrt{12}", "2\\sqrt{3}", True),
    ("x^2+2x+1", "(x+1)^2", True),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", True),
    ("x \\in (-\\infty, 3]", "(-\\infty, 3]", True),
    ("(-\\infty,3)", "(-\\infty,3]", False),
    ("(2,1)", "(1,2)", False),
    ("\\{2,1\\}", "\\{1,2\\}", True),
    ("y = 3+2x", "y=2x+3", True),
    ("3", "\\sqrt{3}", False),
    ("\\frac{\\pi}{2}", "\\pi/2", True),
]


def test_math_verify_equivalences(verifier):
    triples = [keys(p, g) for p, g, _ in MATH_VERIFY_CASES]
    before = verifier.stats.math_verify
    verdicts = verifier.check(triples)
    for (p, g, want), v in zip(MATH_VERIFY_CASES, verdicts):
        assert (v.correct, v.status, v.method) == (want, "ok", "math-verify"), (p, g)
    assert verifier.stats.math_verify - before == len(MATH_VERIFY_CASES)


def test_memo_and_persistent_cache(verifier, tmp_path):
    triples = [keys(p, g) for p, g, _ in MATH_VERIFY_CASES]
    verifier.check(triples)  # (from the memo already if the test above ran)
    before = verifier.stats.math_verify
    again = verifier.check(triples + triples)  # checked pairs are never sent to math-verify again
    assert verifier.stats.math_verify == before
    assert [v.correct for v in again[: len(triples)]] == [w for _, _, w in MATH_VERIFY_CASES]

    verifier.cache.save()
    cache_file = verifier.cache.path
    table = pd.read_parquet(cache_file)
    assert {"pred", "gold", "correct", "status", "timeout_s", "version"} <= set(table.columns)
    assert (table["version"] == cache_version()).all()

    # A new run (new Verifier) answers from the file without starting any worker.
    with Verifier(timeout=verifier.timeout, workers=1, cache_path=cache_file, progress=False) as fresh:
        got = fresh.check(triples)
        assert fresh._procs is None
        assert fresh.stats.cache_hits == len(triples) and fresh.stats.math_verify == 0
        assert [v.method for v in got] == ["cache"] * len(triples)
        assert [v.correct for v in got] == [w for _, _, w in MATH_VERIFY_CASES]


def test_cache_retries_timeouts_only_under_a_longer_limit(tmp_path):
    from ddcf.verify.cache import VerifyCache

    c = VerifyCache(tmp_path / "c.parquet", "v1")
    c.put("p", "g", False, "timeout", 1.0)
    c.put("q", "g", True, "ok", 1.0)
    c.save()
    c2 = VerifyCache(tmp_path / "c.parquet", "v1")
    assert c2.get("p", "g", timeout=1.0) == (False, "timeout")
    assert c2.get("p", "g", timeout=5.0) is None  # worth another try
    assert c2.get("q", "g", timeout=5.0) == (True, "ok")
    assert VerifyCache(tmp_path / "c.parquet", "v2").get("q", "g", 1.0) is None  # other version: ignored
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.warns(UserWarning, match="unreadable verify cache"):
        assert len(VerifyCache(tmp_path / "bad.parquet", "v1")) == 0


def test_bad_verifier_options():
    with pytest.raises(ValueError):
        Verifier(timeout=0)
    with pytest.raises(ValueError):
        Verifier(workers=0)
