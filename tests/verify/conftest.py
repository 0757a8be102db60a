import pytest


@pytest.fixture(scope="session")
def shared_verifier(tmp_path_factory):
    """One Verifier (so one worker pool, one cache file) for the verify tests that need answers, not timings."""
    from ddcf.verify.equivalence import Verifier

    v = Verifier(timeout=3, workers=2, progress=False, cache_path=tmp_path_factory.mktemp("vcache") / "c.parquet")
    yield v
    v.close()
