"""Every selector through the one stage: determinism, k distinct ids, the pool filter, its defining property."""

import json

import numpy as np
import pandas as pd
import pytest
from helpers_select import write_layout

from ddcf.errors import DDCFError
from ddcf.io import read_parquet_metadata, write_parquet
from ddcf.select.cli import main
from ddcf.select.methods import METHODS

MODEL = "org/Target-7B"
FOLDER = {"dataset", "report.json", "report.png", "select.config.yaml", "selection.parquet"}
# the methods that run on the plain synthetic layout, with the options they need
PLAIN = {
    "random": [],
    "longest": ["--length_of", "response"],
    "disf": [],
    "passrate_band": ["--band", "0.2,0.8"],
    "ds2": ["--ratings", "RATINGS"],
}


def run(layout, tmp_path, method, *extra, out=None):
    args = ["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", "--method", method]
    args += [str(tmp_path / "ratings.parquet") if a == "RATINGS" else a for a in extra]
    if out:
        args += ["--output_dir", str(out)]
    assert main(args) == 0
    return out


def write_ratings(layout, tmp_path, n):
    rng = np.random.default_rng(1)
    write_parquet(pd.DataFrame({"question_id": [f"q{i:04d}" for i in range(n)], "rating": rng.integers(0, 4, n)}),
                  tmp_path / "ratings.parquet")


@pytest.mark.parametrize("method", sorted(PLAIN))
def test_determinism_k_distinct_and_pool_filter(layout, tmp_path, method):
    corpus, x, pc = write_layout(layout, n=70)
    write_ratings(layout, tmp_path, 70)
    a = run(layout, tmp_path, method, "--num_select", "9", *PLAIN[method], out=tmp_path / "a")
    b = run(layout, tmp_path, method, "--num_select", "9", *PLAIN[method], out=tmp_path / "b")
    sa, sb = pd.read_parquet(a / "selection.parquet"), pd.read_parquet(b / "selection.parquet")
    assert sa.question_id.tolist() == sb.question_id.tolist()  # same seed, same picks
    assert len(sa) == 9 and sa.question_id.is_unique and sa["rank"].tolist() == list(range(1, 10))
    assert list(sa.columns) == ["rank", "question_id", "cost", "predicted_correctness", "max_similarity", "dataset"]
    assert {p.name for p in a.iterdir()} == FOLDER
    rep = json.loads((a / "report.json").read_text())
    assert rep["method"] == method and read_parquet_metadata(a / "selection.parquet")["method"] == method
    # the pool filter: --max_score and --pool together
    allowed = [f"q{i:04d}" for i in range(0, 70, 2)]
    (tmp_path / "pool.txt").write_text("\n".join(allowed) + "\n")
    cut = float(np.sort(pc)[55])
    c = run(layout, tmp_path, method, "--num_select", "6", "--max_score", str(cut), "--pool",
            str(tmp_path / "pool.txt"), *PLAIN[method], out=tmp_path / "c")
    sc = pd.read_parquet(c / "selection.parquet")
    assert set(sc.question_id) <= set(allowed) and (sc.predicted_correctness <= cut).all() and len(sc) == 6


def test_default_folders_and_ddcf_unchanged(layout, tmp_path):
    write_layout(layout, n=40)
    run(layout, tmp_path, "random", "--num_select", "5", "--seed", "3")
    assert layout.selection_method_dir(MODEL, "random", 5, "seed3").is_dir()
    run(layout, tmp_path, "ddcf", "--num_select", "5")
    assert layout.selection_dir(MODEL, 0.2, 5).is_dir()
    rep = json.loads(layout.selection_report(layout.selection_dir(MODEL, 0.2, 5)).read_text())
    assert rep["method"] == "ddcf" and rep["engine"]


def test_random_differs_by_seed(layout, tmp_path):
    write_layout(layout, n=60)
    a = run(layout, tmp_path, "random", "--num_select", "10", out=tmp_path / "a")
    b = run(layout, tmp_path, "random", "--num_select", "10", "--seed", "1", out=tmp_path / "b")
    assert pd.read_parquet(a / "selection.parquet").question_id.tolist() != \
        pd.read_parquet(b / "selection.parquet").question_id.tolist()


def test_longest_returns_the_k_longest(layout, tmp_path):
    corpus, _, _ = write_layout(layout, n=30)
    rng = np.random.default_rng(0)
    words = rng.permutation(30) + 1  # distinct lengths
    corpus["response"] = [" ".join(["w"] * int(w)) for w in words]
    write_parquet(corpus, layout.corpus_questions)
    out = run(layout, tmp_path, "longest", "--num_select", "7", out=tmp_path / "l")
    sel = pd.read_parquet(out / "selection.parquet")
    want = [f"q{i:04d}" for i in np.argsort(-words, kind="stable")[:7]]
    assert sel.question_id.tolist() == want and sel.cost.tolist() == sorted(words, reverse=True)[:7]
    q = run(layout, tmp_path, "longest", "--num_select", "3", "--length_of", "question", out=tmp_path / "q")
    lens = corpus.question.str.split().str.len()
    assert set(pd.read_parquet(q / "selection.parquet").cost) <= set(lens.nlargest(3))


def test_passrate_band_never_leaves_the_band(layout, tmp_path):
    pc = np.linspace(0.0, 1.0, 50).astype(np.float32)
    write_layout(layout, n=50, predicted_correctness=pc)
    for band, lo, hi, pick in (("0.3,0.6", 0.3, 0.6, "sample"), ("hard", 0.2, 0.4, "hardest")):
        out = run(layout, tmp_path, "passrate_band", "--num_select", "5", "--band", band, "--band_pick", pick,
                  out=tmp_path / band)
        got = pd.read_parquet(out / "selection.parquet").predicted_correctness
        assert ((got >= np.float32(lo)) & (got <= np.float32(hi))).all()
    got = pd.read_parquet(tmp_path / "hard" / "selection.parquet").predicted_correctness.to_numpy()
    assert np.all(np.diff(got) >= 0) and got[0] == pc[pc >= np.float32(0.2)].min()  # hardest first


def test_every_method_is_documented_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in METHODS:
        assert name in text
    assert "corpus annotations" in text and "only for --method" in text.lower()


@pytest.mark.parametrize("extra,needle", [
    (["--method", "nope"], "is not a known selection method"),
    (["--method", "passrate_band", "--band", "0.5,1.5"], "inside [0, 1]"),
    (["--method", "passrate_band", "--band", "0.7,0.1"], "inside [0, 1]"),
    (["--method", "passrate_band", "--band", "tough"], "neither"),
    (["--method", "passrate_band"], "needs --band"),
    (["--method", "ds2", "--ratings", "/nonexistent/ratings.parquet"], "does not exist"),
    (["--method", "crowd", "--crowd_weights", "1,-1,0"], "non-negative"),
    (["--method", "random", "--pool", "/nonexistent/ids.txt"], "does not exist"),
])
def test_bad_input_is_one_paragraph(layout, tmp_path, capsys, extra, needle):
    from ddcf.cli import run_main

    write_layout(layout, n=20)
    code = run_main(main, ["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress",
                           "--num_select", "3", *extra])
    err = capsys.readouterr().err
    assert code == 2 and needle in " ".join(err.split()) and "Traceback" not in err


def test_passrate_band_too_narrow_and_pool_without_candidates(layout, tmp_path):
    write_layout(layout, n=20, predicted_correctness=np.full(20, 0.5, np.float32))
    with pytest.raises(DDCFError, match="widen --band"):
        run(layout, tmp_path, "passrate_band", "--num_select", "3", "--band", "0.0,0.1")
    (tmp_path / "ids.txt").write_text("other-1\nother-2\n")
    with pytest.raises(DDCFError, match="None of the 2 ids"):
        run(layout, tmp_path, "random", "--num_select", "3", "--pool", str(tmp_path / "ids.txt"))
