"""Stage 2 refuses question texts that are empty or whitespace only (they would reach the SFT data as "")."""

import pandas as pd
import pytest

from ddcf.cli import run_main
from ddcf.errors import DDCFError
from ddcf.matrix.build import build_matrix
from ddcf.matrix.cli import main as matrix_main


def _rows(blank_ids=(), text=""):
    return [dict(model=f"org/model-{m}", question_id=f"q{q}", correct=(q + m) % 2,
                 question=text if f"q{q}" in blank_ids else f"What is {q} squared?")
            for m in range(3) for q in range(12)]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("text", ["", "   ", "\n\t ", None])
def test_blank_question_texts_are_refused_naming_the_ids(tmp_path, layout, suffix, text):
    df = pd.DataFrame(_rows(blank_ids=("q3", "q7"), text=text))
    p = tmp_path / f"table{suffix}"
    df.to_csv(p, index=False) if suffix == ".csv" else df.to_parquet(p)
    with pytest.raises(DDCFError, match=r"2 question id\(s\) whose question text is empty .*'q3', 'q7'"):
        build_matrix(layout, correctness_table=p)
    assert not layout.matrix.exists() and not layout.seed_questions.exists()


def test_a_text_given_in_one_row_of_a_question_is_enough(tmp_path, layout):
    rows = _rows()
    rows[0]["question"] = "  "  # q0 of model 0 blank, but the other models' rows of q0 carry its text
    p = tmp_path / "t.parquet"
    pd.DataFrame(rows).to_parquet(p)
    build_matrix(layout, correctness_table=p)
    seed = pd.read_parquet(layout.seed_questions).set_index("question_id")
    assert seed.loc["q0", "question"] == "What is 0 squared?" and len(seed) == 12


def test_cli_gives_one_paragraph(tmp_path, capsys):
    p = tmp_path / "t.csv"
    pd.DataFrame(_rows(blank_ids=("q5",), text=" ")).to_csv(p, index=False)
    assert run_main(matrix_main, ["--workdir", str(tmp_path / "w"), "--correctness_table", str(p)]) == 2
    err = capsys.readouterr().err
    assert "'q5'" in err and "Traceback" not in err
