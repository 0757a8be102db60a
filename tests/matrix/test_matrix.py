import pandas as pd
import pytest

from ddcf.errors import DDCFError
from ddcf.io import write_parquet
from ddcf.matrix.build import build_matrix
from ddcf.matrix.cli import main as matrix_main
from ddcf.matrix.split import split_questions


def _user_table(tmp_path, rows, name="m.csv"):
    df = pd.DataFrame(rows)
    p = tmp_path / name
    if name.endswith(".csv"):
        df.to_csv(p, index=False)
    else:
        df.to_parquet(p)
    return p


def _toy_rows(n_models=3, n_q=40, missing_every=7):
    rows = []
    for m in range(n_models):
        for q in range(n_q):
            if (m * n_q + q) % missing_every == 0:
                continue  # a model that did not answer: a missing entry, not an error
            rows.append(dict(model=f"org/model-{m}", question_id=f"q{q}", question=f"What is {q} squared?",
                             correct=int((q + m) % 3 != 0), dataset="gsm8k" if q % 2 else "math"))
    return rows


def test_user_table_builds_long_matrix_and_split(tmp_path, layout):
    p = _user_table(tmp_path, _toy_rows())
    res = build_matrix(layout, correctness_table=p, val_ratio=0.25, seed=1)
    m = pd.read_parquet(layout.matrix)
    assert set(m.columns) >= {"model_id", "model", "question_id", "correct", "dataset", "split"}
    assert len(m) == len(_toy_rows())
    # split is by question: no question in both halves
    tr = pd.read_parquet(layout.train_split)
    va = pd.read_parquet(layout.val_split)
    assert not set(tr.question_id) & set(va.question_id)
    assert va.question_id.nunique() == 10 and res.n_val_questions == 10
    mo = pd.read_csv(layout.model_order)
    assert mo.model.tolist() == ["org/model-0", "org/model-1", "org/model-2"]
    assert (m.groupby("model").model_id.first() == mo.set_index("model").model_id).all()
    # the seed question table is written from the user's table
    seed = pd.read_parquet(layout.seed_questions)
    assert seed.question_id.nunique() == 40


def test_split_is_seeded_and_order_independent():
    ids = [f"q{i}" for i in range(100)]
    a = split_questions(ids, 0.1, 42)
    b = split_questions(list(reversed(ids)), 0.1, 42)
    c = split_questions(ids, 0.1, 43)
    assert a == b and len(a) == 10 and a != c


def test_existing_model_order_is_kept(tmp_path, layout):
    layout.model_order.parent.mkdir(parents=True)
    pd.DataFrame({"model_id": [0, 1], "model": ["org/model-2", "org/unrun"]}).to_csv(layout.model_order, index=False)
    build_matrix(layout, correctness_table=_user_table(tmp_path, _toy_rows()))
    mo = pd.read_csv(layout.model_order)
    assert mo.model.tolist()[:2] == ["org/model-2", "org/unrun"]
    assert mo.loc[mo.model == "org/unrun", "n_answered"].item() == 0
    m = pd.read_parquet(layout.matrix)
    assert m.loc[m.model == "org/model-2", "model_id"].unique().tolist() == [0]


def test_repeated_verdicts_become_thresholded_pass_rate(tmp_path, layout):
    rows = [dict(model="a", question_id=f"q{q}", question=f"t{q}", correct=c)
            for q in range(10) for c in ([1, 1, 0] if q < 5 else [0, 0, 1])]
    build_matrix(layout, correctness_table=_user_table(tmp_path, rows), pass_threshold=0.5)
    m = pd.read_parquet(layout.matrix).set_index("question_id")
    assert m.loc["q0", "correct"] == 1 and m.loc["q7", "correct"] == 0
    assert m.loc["q0", "n"] == 3 and abs(m.loc["q0", "pass_rate"] - 2 / 3) < 1e-9


def test_verdict_tables_are_read(layout):
    for model in ("x/a", "y/b"):
        df = pd.DataFrame(dict(model=model, question_id=[f"q{i}" for i in range(20)], question="t",
                               correct=[bool(i % 2) for i in range(20)], dataset="gsm8k"))
        write_parquet(df, layout.verdicts(model))
    res = build_matrix(layout)
    assert res.matrix.model.nunique() == 2 and len(res.matrix) == 40


def test_words_and_blanks_in_correct_column(tmp_path, layout):
    rows = [dict(model="a", question_id=f"q{i}", question="t", correct=v)
            for i, v in enumerate(["true", "False", "", "1", "0", "yes"])]
    build_matrix(layout, correctness_table=_user_table(tmp_path, rows))
    m = pd.read_parquet(layout.matrix)
    assert len(m) == 5  # the blank verdict is a missing entry


@pytest.mark.parametrize(
    "rows,needle",
    [
        ([dict(model="a", question_id="q1", question="t", correct="maybe")], "not a verdict"),
        ([dict(model="a", question_id="q1", question="t", correct=3)], "outside [0, 1]"),
        ([dict(model="a", question_id="q1", question="t1", correct=1),
          dict(model="b", question_id="q1", question="t2", correct=1)], "different question texts"),
    ],
)
def test_bad_verdict_values(tmp_path, layout, rows, needle):
    with pytest.raises(DDCFError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        build_matrix(layout, correctness_table=_user_table(tmp_path, rows))


def _err(capsys):
    return " ".join(capsys.readouterr().err.split())


def test_cli_errors_are_one_paragraph(tmp_path, capsys):
    from ddcf.cli import run_main

    work = str(tmp_path / "w")
    # missing file
    assert run_main(matrix_main, ["--workdir", work, "--correctness_table", str(tmp_path / "nope.csv")]) == 2
    assert "does not exist" in _err(capsys)
    # empty file
    (tmp_path / "empty.csv").write_text("")
    assert run_main(matrix_main, ["--workdir", work, "--correctness_table", str(tmp_path / "empty.csv")]) == 2
    assert "empty" in _err(capsys)
    # missing columns
    pd.DataFrame({"model": ["a"], "qid": ["q"]}).to_csv(tmp_path / "cols.csv", index=False)
    assert run_main(matrix_main, ["--workdir", work, "--correctness_table", str(tmp_path / "cols.csv")]) == 2
    err = _err(capsys)
    assert "lacks the column(s) question_id, question, correct" in err and "Traceback" not in err
    # no verdicts at all
    assert run_main(matrix_main, ["--workdir", work]) == 2
    assert "No per-model verdict tables" in _err(capsys)
    # bad val ratio
    p = _user_table(tmp_path, _toy_rows())
    assert run_main(matrix_main, ["--workdir", work, "--correctness_table", str(p), "--val_ratio", "1.5"]) == 2
    assert "--val_ratio" in _err(capsys)
    # unknown model
    assert run_main(matrix_main, ["--workdir", work, "--correctness_table", str(p), "--models", "nobody"]) == 2
    assert "nobody" in _err(capsys)


def test_cli_summary(tmp_path, capsys):
    p = _user_table(tmp_path, _toy_rows(), name="m.parquet")
    assert matrix_main(["--workdir", str(tmp_path / "w"), "--correctness_table", str(p)]) == 0
    out = capsys.readouterr().out
    assert "Stage 2" in out and "questions" in out
    assert "matrix.parquet" in out and "model_order.csv" in out


def test_library_call_checks_options_like_the_command_line(tmp_path, layout):
    p = _user_table(tmp_path, _toy_rows())
    with pytest.raises(DDCFError, match="--pass_threshold"):
        build_matrix(layout, correctness_table=p, pass_threshold=1.5)
    with pytest.raises(DDCFError, match="--val_ratio"):
        build_matrix(layout, correctness_table=p, val_ratio=0.0)


def test_pass_rate_tables(layout):
    """--from_pass_rates reads <model>.passrate.parquet (model from the column or from the file name)."""
    write_parquet(pd.DataFrame({"question_id": [f"q{i}" for i in range(10)], "question": "t", "dataset": "math"}),
                  layout.seed_questions)
    write_parquet(pd.DataFrame({"model": "x/a", "question_id": [f"q{i}" for i in range(10)],
                                "pass_rate": [i / 10 for i in range(10)]}), layout.passrates("x/a"))
    write_parquet(pd.DataFrame({"question_id": [f"q{i}" for i in range(10)], "pass_rate": 1.0}),
                  layout.passrates("b"))
    # a verdict table beside them is not read in this mode
    write_parquet(pd.DataFrame(dict(model="c", question_id=["q1", "q2"], question="t", correct=[1, 0])),
                  layout.verdicts("c"))
    res = build_matrix(layout, from_pass_rates=True, pass_threshold=0.6)
    m = res.matrix
    assert sorted(m.model.unique()) == ["b", "x/a"]
    assert m.loc[m.model == "x/a", "correct"].sum() == 4 and (m.loc[m.model == "b", "correct"] == 1).all()
    assert set(m.dataset) == {"math"} and "pass rates >= 0.6" in res.source
    # and the default mode reads only the verdict tables, not the pass-rate tables
    # (2 questions: room for train and val only, hence no test side)
    assert build_matrix(layout, val_ratio=0.5, test_ratio=0.0).matrix.model.unique().tolist() == ["c"]
