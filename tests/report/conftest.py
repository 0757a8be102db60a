import numpy as np
import pytest
from report_testlib import MODELS, build_work, fake_method, select


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    """A work dir with ddcf selections for three target models, a random and a perplexity selection in the
    common format, and an older-format one without a method (read as ddcf)."""
    layout = build_work(tmp_path_factory.mktemp("report") / "work")
    dirs = [select(layout, m) for m in MODELS]
    n = 260
    dirs.append(fake_method(layout, dirs[0], "random", np.random.default_rng(1).choice(n, 30, replace=False),
                            "random"))
    dirs.append(fake_method(layout, dirs[0], "perplexity", np.arange(30), "ppl"))
    return layout, dirs


@pytest.fixture(scope="session")
def full_report(work):
    """The report of all five selections (t-SNE map), written once per test session."""
    import json

    from ddcf.report.cli import main

    layout, dirs = work
    out = layout.root / "full_report"
    assert main(["--workdir", str(layout.root), "--projection", "tsne", "--no_progress", "--output_dir", str(out),
                 *dirs]) == 0
    return out, json.loads((out / "report.json").read_text())
