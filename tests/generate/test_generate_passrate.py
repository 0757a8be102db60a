import io

import numpy as np
import pandas as pd
import pytest

from ddcf.errors import DDCFError
from ddcf.generate import passrate as PR
from ddcf.io import write_parquet


@pytest.mark.parametrize(
    "p,name",
    [(0.0, "impossible"), (1e-9, "very hard"), (0.19, "very hard"), (0.2, "hard"), (0.39, "hard"),
     (0.4, "medium"), (0.59, "medium"), (0.6, "easy"), (0.79, "easy"), (0.8, "very easy"),
     (0.999, "very easy"), (1.0, "perfect"), (np.float32(0.5), "medium"), (1, "perfect"), (0, "impossible")],
)
def test_bucket_boundaries(p, name):
    assert PR.bucket(p) == name


@pytest.mark.parametrize("bad", [-0.1, 1.01, float("nan"), "abc", None])
def test_bucket_rejects_out_of_range(bad):
    with pytest.raises(DDCFError):
        PR.bucket(bad)


def test_pass_rates_from_verdicts():
    v = pd.DataFrame({"question_id": ["a", "a", "a", "b", "b", "b"], "dataset": ["math"] * 3 + ["gsm8k"] * 3,
                      "correct": [True, False, True, False, False, False]})
    t = PR.pass_rates(v)
    assert list(t["question_id"]) == ["a", "b"]
    assert list(t["n"]) == [3, 3] and list(t["n_correct"]) == [2, 0]
    assert np.allclose(t["pass_rate"], [2 / 3, 0.0])
    with pytest.raises(DDCFError, match="missing 'correct'"):
        PR.pass_rates(v.assign(correct=[True, None, True, False, False, False]))
    with pytest.raises(DDCFError, match="lacks"):
        PR.pass_rates(v.drop(columns=["correct"]))


def test_pass_at_k_estimator():
    assert PR.pass_at_k(4, 0, 1) == 0.0
    assert PR.pass_at_k(4, 4, 2) == 1.0
    assert PR.pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert PR.pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)
    assert PR.pass_at_k(5, 3, 3) == 1.0  # fewer than k wrong samples
    with pytest.raises(ValueError):
        PR.pass_at_k(2, 1, 3)


def test_load_pass_rates_prefers_file_and_falls_back_to_verdicts(layout):
    model = "org/model"
    with pytest.raises(DDCFError, match="No pass rates"):
        PR.load_pass_rates(layout, model)
    write_parquet(pd.DataFrame({"model": model, "question_id": ["a", "b"], "correct": [True, False]}),
                  layout.verdicts(model))
    t = PR.load_pass_rates(layout, model)
    assert list(t["pass_rate"]) == [1.0, 0.0] and list(t["n"]) == [1, 1]
    table = pd.DataFrame({"question_id": ["a", "b"], "n": [4, 4], "n_correct": [1, 3], "pass_rate": [0.25, 0.75]})
    PR.write_pass_rates(layout, model, table)
    assert layout.passrates(model).name == "org__model.passrate.parquet"
    assert PR.is_passrate_file(layout.passrates(model))
    assert list(PR.load_pass_rates(layout, model)["n"]) == [4, 4]
    assert set(pd.read_parquet(layout.passrates(model))["model"]) == {model}  # real name, not the stem


@pytest.mark.parametrize(
    "bad,match",
    [
        (dict(pass_rate=[0.25, 1.5]), "outside"),
        (dict(n_correct=[5, 3]), "counts out of range"),
        (dict(question_id=["a", "a"]), "duplicated"),
        (dict(n=[4, None]), "missing values"),
    ],
)
def test_invalid_pass_rate_file(layout, bad, match):
    table = pd.DataFrame({"question_id": ["a", "b"], "n": [4, 4], "n_correct": [1, 3], "pass_rate": [0.25, 0.75]})
    write_parquet(table.assign(**bad), layout.passrates("m"))
    with pytest.raises(DDCFError, match=match):
        PR.load_pass_rates(layout, "m")


def test_bucket_table_and_printing(layout):
    table = pd.DataFrame({"question_id": list("abcdefg"), "n": [5] * 7, "n_correct": [0, 1, 1, 2, 4, 5, 5],
                          "pass_rate": [0, 0.2, 0.2, 0.4, 0.8, 1, 1]})
    bt = PR.bucket_table(table)
    assert list(bt["bucket"]) == list(PR.BUCKETS)
    assert dict(zip(bt["bucket"], bt["count"])) == {"impossible": 1, "very hard": 0, "hard": 2, "medium": 1,
                                                    "easy": 0, "very easy": 1, "perfect": 2}
    assert bt["share"].sum() == pytest.approx(1.0)
    PR.write_pass_rates(layout, "org/m1", table)
    buf = io.StringIO()
    (text,) = PR.print_bucket_tables(layout, file=buf)
    assert "org/m1: 7 questions" in buf.getvalue() and "perfect" in text
    assert PR.main(["--workdir", str(layout.root)]) == 0


def test_print_bucket_tables_without_files(layout):
    with pytest.raises(DDCFError, match="No pass-rate tables"):
        PR.print_bucket_tables(layout)


def test_ddcf_passrate_command(layout, capsys):
    from ddcf import cli as ddcf_cli

    table = pd.DataFrame({"question_id": ["a", "b"], "n": [2, 2], "n_correct": [0, 2], "pass_rate": [0.0, 1.0]})
    PR.write_pass_rates(layout, "org/m1", table)
    PR.write_pass_rates(layout, "org/m2", table)
    assert ddcf_cli.main(["passrate", "--workdir", str(layout.root), "--models", "org/m2"]) == 0
    out = capsys.readouterr().out
    assert "org/m2: 2 questions" in out and "org/m1" not in out
    assert PR.main(["--workdir", str(layout.root)]) == 0
    out = capsys.readouterr().out
    assert "org/m1: 2 questions" in out and "org/m2: 2 questions" in out
    assert ddcf_cli.main(["passrate", "--workdir", str(layout.root / "empty")]) == 2
    assert "No pass-rate tables" in capsys.readouterr().err
