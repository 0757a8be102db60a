"""The three-way split by question (train / val / test, k-fold as an option): no leak, deterministic,
row-order independent, stratified by dataset, and clear errors when the questions are too few."""

import numpy as np
import pandas as pd
import pytest

from ddcf.artifacts.matrix import SPLIT_COLUMNS
from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.io import read_parquet_metadata
from ddcf.matrix.build import build_matrix
from ddcf.matrix.cli import main as matrix_main
from ddcf.matrix.split import split_by_question, split_questions

IDS = [f"q{i:03d}" for i in range(100)]


def _sides(side):
    return {s: {q for q, v in side.items() if v == s} for s in ("train", "val", "test")}


def _sparse_table(tmp_path, n_q=60, n_models=4, seed=0, name="t.parquet"):
    """A sparse matrix: every model skips a random third of the questions; some questions have one model only."""
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_q):
        answered = [m for m in range(n_models) if rng.random() > 0.33] or [q % n_models]
        rows += [dict(model=f"m{m}", question_id=f"q{q}", question=f"question {q}", correct=int(rng.random() < 0.6),
                      dataset="gsm8k" if q % 3 else "math") for m in answered]
    df = pd.DataFrame(rows)
    p = tmp_path / name
    df.to_parquet(p) if name.endswith(".parquet") else df.to_csv(p, index=False)
    return p, df


def _read_sides(layout):
    return {s: pd.read_parquet(p) for s, p in
            (("train", layout.train_split), ("val", layout.val_split), ("test", layout.test_split))}


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("val_ratio,test_ratio", [(0.1, 0.1), (0.25, 0.0), (0.3, 0.3), (0.05, 0.5)])
def test_no_question_on_two_sides_of_a_sparse_matrix(tmp_path, layout, seed, val_ratio, test_ratio):
    p, df = _sparse_table(tmp_path, seed=seed)
    res = build_matrix(layout, correctness_table=p, val_ratio=val_ratio, test_ratio=test_ratio, seed=seed)
    parts = _read_sides(layout)
    qs = {s: set(t.question_id) for s, t in parts.items()}
    assert not (qs["train"] & qs["val"]) and not (qs["train"] & qs["test"]) and not (qs["val"] & qs["test"])
    assert qs["train"] | qs["val"] | qs["test"] == set(df.question_id)
    # every row of a question is on its question's side, whichever models answered it
    assert sum(len(t) for t in parts.values()) == len(res.matrix) == len(df)
    m = pd.read_parquet(layout.matrix)
    assert (m.groupby("question_id").split.nunique() == 1).all()
    assert {s: set(m.loc[m.split == s, "question_id"]) for s in qs} == qs
    assert (res.n_train_questions, res.n_val_questions, res.n_test_questions) == tuple(
        len(qs[s]) for s in ("train", "val", "test"))
    assert bool(qs["test"]) == (test_ratio > 0) and qs["val"] and qs["train"]


@pytest.mark.parametrize("folds", [0, 3])
def test_deterministic_and_independent_of_row_order(tmp_path, layout, folds):
    p, df = _sparse_table(tmp_path)
    build_matrix(layout, correctness_table=p, folds=folds, fold=min(folds, 1))
    first = pd.read_parquet(layout.matrix)
    shuffled = tmp_path / "shuffled.csv"
    df.sample(frac=1.0, random_state=3).to_csv(shuffled, index=False)
    build_matrix(layout, correctness_table=shuffled, folds=folds, fold=min(folds, 1))
    pd.testing.assert_frame_equal(pd.read_parquet(layout.matrix), first)
    # and on the library function: any order of ids and of the strata mapping
    strata = {q: ("a" if i % 4 else "b") for i, q in enumerate(IDS)}
    a = split_by_question(IDS, 0.1, 0.2, 5, strata=strata, folds=folds, fold=min(folds, 1))
    b = split_by_question(IDS[::-1] + IDS[:7], 0.1, 0.2, 5, strata=dict(reversed(strata.items())), folds=folds,
                          fold=min(folds, 1))
    assert a == b and a != split_by_question(IDS, 0.1, 0.2, 6, strata=strata, folds=folds, fold=min(folds, 1))


def test_counts_and_rounding_of_one_stratum():
    s = _sides(split_by_question(IDS, 0.1, 0.15, 42))
    assert [len(s[k]) for k in ("train", "val", "test")] == [75, 10, 15]
    # val is taken first, so adding a test side moves no validation question; with no test side the split is
    # the former train/validation split (the first round(n * val_ratio) ids of the seeded shuffle)
    perm = np.random.default_rng(42).permutation(len(IDS))
    assert s["val"] == split_questions(IDS, 0.1, 42) == {IDS[j] for j in perm[:10]}
    # rounding is half up: 10 questions x 0.25 = 2.5 -> 3
    assert len(_sides(split_by_question(IDS[:10], 0.25, 0.05, 0))["val"]) == 3


@pytest.mark.parametrize("folds", [2, 3, 5, 7])
def test_kfold_test_folds_partition_the_questions(folds):
    strata = {q: ("gsm8k" if i % 5 else "math") for i, q in enumerate(IDS)}
    splits = [split_by_question(IDS, 0.1, 0.3, 11, strata=strata, folds=folds, fold=i) for i in range(folds)]
    tests = [_sides(sp)["test"] for sp in splits]
    assert set().union(*tests) == set(IDS) and sum(map(len, tests)) == len(IDS)  # disjoint and complete
    assert max(map(len, tests)) - min(map(len, tests)) <= 1
    for ds in ("gsm8k", "math"):  # every fold holds its share of each dataset
        per = [sum(strata[q] == ds for q in t) for t in tests]
        assert max(per) - min(per) <= 1
    for sp in splits:
        s = _sides(sp)
        # --test_ratio is ignored; val is --val_ratio of all questions (of each dataset), from the other folds
        assert len(s["val"]) == 10 and not s["val"] & s["test"] and not s["train"] & (s["val"] | s["test"])
    # the same seed gives the same folds, another seed others
    assert split_by_question(IDS, 0.1, 0.0, 11, strata=strata, folds=folds, fold=0) == splits[0]
    assert _sides(split_by_question(IDS, 0.1, 0.0, 12, strata=strata, folds=folds, fold=0))["test"] != tests[0]


def test_stratification_keeps_a_small_dataset_on_every_side():
    strata = {q: ("big" if i < 95 else "small") for i, q in enumerate(IDS)}
    for seed in range(20):  # a plain 10% draw would miss the 5 small questions in test more often than not
        s = _sides(split_by_question(IDS, 0.1, 0.1, seed, strata=strata))
        for side, n_big, n_small in (("val", 10, 1), ("test", 10, 1), ("train", 75, 3)):
            assert sum(strata[q] == "big" for q in s[side]) == n_big
            assert sum(strata[q] == "small" for q in s[side]) == n_small
    # a dataset too small to keep one question for training stays in train; one question per dataset still
    # fills the three sides (each missing side takes a question from the dataset with the most training questions)
    three = {"a1": "a", "b1": "b", "c1": "c"}
    assert sorted(split_by_question(three, 0.1, 0.1, 0, strata=three).values()) == ["test", "train", "val"]


def test_build_stratifies_by_the_dataset_column(tmp_path, layout):
    rows = [dict(model=f"m{m}", question_id=f"q{q}", question=f"t{q}", correct=(q + m) % 2,
                 dataset="math" if q < 6 else "gsm8k") for m in range(2) for q in range(60)]
    p = tmp_path / "t.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    build_matrix(layout, correctness_table=p, seed=3)
    test = pd.read_parquet(layout.test_split)
    assert test.groupby("dataset").question_id.nunique().to_dict() == {"gsm8k": 5, "math": 1}
    assert read_parquet_metadata(layout.matrix)["stratified_by"] == "dataset"


def test_metadata_and_summary(tmp_path, layout, capsys):
    p, _ = _sparse_table(tmp_path, n_q=50)
    assert matrix_main(["--workdir", str(layout.root), "--correctness_table", str(p), "--val_ratio", "0.2",
                        "--test_ratio", "0.1", "--seed", "4"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    meta = read_parquet_metadata(layout.matrix)
    n = {s: meta[f"n_{s}_questions"] for s in ("train", "val", "test")}
    assert {k: meta[k] for k in ("val_ratio", "test_ratio", "folds", "fold", "seed")} == dict(
        val_ratio=0.2, test_ratio=0.1, folds=0, fold=None, seed=4)
    assert sum(n.values()) == 50 and n["test"] >= 1
    assert f"questions 50 (train {n['train']}, val {n['val']}, test {n['test']})" in out
    assert "test_ratio 0.1" in out and "stratified by dataset" in out
    for path in (layout.train_split, layout.val_split, layout.test_split):
        assert read_parquet_metadata(path) == meta


def test_test_ratio_zero_writes_an_empty_test_table(tmp_path, layout, capsys):
    p, _ = _sparse_table(tmp_path)
    build_matrix(layout, correctness_table=p)  # a stale test split from an earlier run ...
    assert len(pd.read_parquet(layout.test_split))
    assert matrix_main(["--workdir", str(layout.root), "--correctness_table", str(p), "--test_ratio", "0"]) == 0
    assert "no test split (--test_ratio 0): test.parquet is empty" in " ".join(capsys.readouterr().out.split())
    test, train = pd.read_parquet(layout.test_split), pd.read_parquet(layout.train_split)
    assert len(test) == 0 and list(test.columns) == list(train.columns) == SPLIT_COLUMNS  # ... is replaced, empty
    assert (test.dtypes == train.dtypes).all()
    m = pd.read_parquet(layout.matrix)
    assert set(m.split) == {"train", "val"} and read_parquet_metadata(layout.matrix)["n_test_questions"] == 0


def test_kfold_through_the_command_line(tmp_path, layout):
    p, df = _sparse_table(tmp_path, n_q=40)
    tests = []
    for i in range(4):
        assert matrix_main(["--workdir", str(layout.root), "--correctness_table", str(p), "--folds", "4",
                            "--fold", str(i), "--test_ratio", "0.3"]) == 0
        tests.append(set(pd.read_parquet(layout.test_split).question_id))
        meta = read_parquet_metadata(layout.matrix)
        assert (meta["folds"], meta["fold"], meta["test_ratio"]) == (4, i, None)
    assert set().union(*tests) == set(df.question_id) and sum(map(len, tests)) == 40


@pytest.mark.parametrize("kwargs,needle", [
    (dict(val_ratio=0.5, test_ratio=0.5), r"--val_ratio 0.5 \+ --test_ratio 0.5 = 1 leaves no training"),
    (dict(val_ratio=0.6, test_ratio=0.45), r"--test_ratio 0.45 = 1.05"),
    (dict(folds=1), "--folds 1"),
    (dict(folds=3, fold=3), r"--fold 3 is not one of the 3 folds.*0\.\.2"),
    (dict(fold=2), "--fold 2 was given without --folds"),
    (dict(folds=2, val_ratio=0.5), r"--val_ratio 0.5 plus the test fold \(1/2"),
    (dict(test_ratio=1.0), "--test_ratio is 1.0; it must be < 1.0"),
    (dict(test_ratio=-0.1), "--test_ratio is -0.1; it must be >= 0.0"),
])
def test_bad_options(tmp_path, layout, kwargs, needle):
    p, _ = _sparse_table(tmp_path, n_q=20)
    with pytest.raises(DDCFError, match=needle):
        build_matrix(layout, correctness_table=p, **kwargs)
    assert not layout.matrix.exists()


def _tiny(tmp_path, n_q):
    rows = [dict(model="m", question_id=f"q{q}", question=f"t{q}", correct=q % 2) for q in range(n_q)]
    p = tmp_path / "tiny.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_too_few_questions_for_the_sides(tmp_path, layout, capsys):
    # 3 questions and 0.1/0.1: both ratios round to 0 questions, yet every side gets one
    res = build_matrix(layout, correctness_table=_tiny(tmp_path, 3))
    assert (res.n_train_questions, res.n_val_questions, res.n_test_questions) == (1, 1, 1)
    with pytest.raises(DDCFError, match=r"--val_ratio 0.1 and --test_ratio 0.1 the 2 distinct question\(s\).*"
                                        r"cannot fill train, val and test.*--test_ratio 0"):
        build_matrix(layout, correctness_table=_tiny(tmp_path, 2))
    assert build_matrix(layout, correctness_table=_tiny(tmp_path, 2), test_ratio=0).n_val_questions == 1
    with pytest.raises(DDCFError, match="cannot fill train and val"):
        build_matrix(layout, correctness_table=_tiny(tmp_path, 1), test_ratio=0)
    with pytest.raises(DDCFError, match="--folds 5 and --val_ratio 0.1 the 4 distinct.*cannot fill 5 folds"):
        build_matrix(layout, correctness_table=_tiny(tmp_path, 4), folds=5)
    # 3 questions in 3 folds: test 1, val 1, train 1; in 2 folds fold 0 holds 2 and leaves one question only
    assert build_matrix(layout, correctness_table=_tiny(tmp_path, 3), folds=3).n_train_questions == 1
    with pytest.raises(DDCFError, match="--folds 2 .* the 3 distinct.*leave the val side empty"):
        build_matrix(layout, correctness_table=_tiny(tmp_path, 3), folds=2)
    # on the command line: one paragraph, no traceback
    assert run_main(matrix_main, ["--workdir", str(layout.root), "--correctness_table",
                                  str(_tiny(tmp_path, 2))]) == 2
    err = capsys.readouterr().err
    assert "--test_ratio" in err and "Traceback" not in err


def test_push_bundle_includes_the_test_split(tmp_path, layout):
    from ddcf.push.contents import matrix_bundle

    build_matrix(layout, correctness_table=_sparse_table(tmp_path)[0], test_ratio=0.2)
    b = matrix_bundle(layout)
    assert "test.parquet" in [name for _, name in b.files]
    assert b.facts["test_ratio"] == 0.2 and sum(b.facts["split_questions"].values()) == 60


def test_random_cases_never_leak_and_keep_every_requested_side():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(3, 80))
        ids = [f"x{i}" for i in rng.choice(1000, size=n, replace=False)]
        strata = {q: f"d{int(rng.integers(0, rng.integers(1, 5)))}" for q in ids}
        folds = int(rng.choice([0, 0, 2, 3, 5]))
        val = float(rng.uniform(0.01, 0.4))
        test = 0.0 if rng.random() < 0.2 else float(rng.uniform(0.01, 0.5))
        if folds and (folds > n or n < 3 or val + 1 / folds >= 1):
            continue
        try:
            side = split_by_question(ids, val, test, int(rng.integers(0, 99)), strata=strata, folds=folds,
                                     fold=int(rng.integers(0, max(folds, 1))))
        except DDCFError as e:  # only a too-small case may fail, and it says why
            assert "distinct question(s)" in str(e) and n < 10, (n, folds, val, test, str(e))
            continue
        assert set(side) == set(ids) and set(side.values()) <= {"train", "val", "test"}
        assert {"train", "val"} <= set(side.values())
        assert ("test" in side.values()) == (folds > 0 or test > 0)
