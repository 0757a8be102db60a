"""benchmarks/routerbench_matrix.py on CSV files laid out as RouterDC commits RouterBench's per-item scores."""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import routerbench_matrix as R

SHOTS = "Q: 1+1?\nA) 2 B) 3\nAnswer: A\n\nQ: 2+2?\nA) 4 B) 5\nAnswer: A\n\n"


def _csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path)  # pandas writes the index as "Unnamed: 0" on reading, as in RouterDC's files
    return path


def _row(sid, prompt, task, a, b):
    return {"sample_id": sid, "prompt": repr([prompt]), "eval_name": task, "model-a": a, "model-b": b,
            "model-a|total_cost": 0.001, "model-b|model_response": "A", "oracle_model_to_route_to": "model-a"}


def test_convert_keeps_the_item_the_models_and_one_copy(tmp_path):
    train = _csv(tmp_path / "arc_train.csv", [
        _row("arc.1", SHOTS + "Q: Which is a planet?\nA) Mars B) Moon\nPrint only a single choice", "arc-challenge",
             1.0, 0.0),
        _row("mbpp.7", "Write a function that adds two numbers.", "mbpp", 0.0, 1.0)])
    test = _csv(tmp_path / "arc_test.csv", [
        _row("arc.1", SHOTS + "Q: Which is a planet?\nA) Mars B) Moon\nPrint only a single choice", "arc-challenge",
             1.0, 0.0)])
    t = R.convert([train, test])
    assert list(t.columns) == ["model", "question_id", "question", "correct", "dataset"]
    assert len(t) == 4 and set(t["model"]) == {"model-a", "model-b"}  # cost/response/oracle columns are no models
    arc = t[t["question_id"] == "arc.1"].set_index("model")
    assert arc.loc["model-a", "question"] == "Q: Which is a planet?\nA) Mars B) Moon"
    assert arc["correct"].to_dict() == {"model-a": 1, "model-b": 0} and set(arc["dataset"]) == {"arc_challenge"}
    assert t.loc[t["question_id"] == "mbpp.7", "question"].iloc[0] == "Write a function that adds two numbers."


def test_main_writes_a_table_create_training_data_reads(tmp_path, capsys):
    _csv(tmp_path / "w.csv", [_row("w.1", "The trophy did not fit because _ was big.", "winogrande", 1.0, 1.0)])
    out = tmp_path / "m.parquet"
    assert R.main([str(tmp_path), str(out)]) == 0
    assert "2 answers of 2 models to 1 questions" in capsys.readouterr().out
    from ddcf.matrix.sources import load_user_table

    assert len(load_user_table(out)) == 2


def test_scores_that_are_not_0_or_1_are_refused(tmp_path):
    bad = _csv(tmp_path / "b.csv", [_row("x", "q", "mbpp", 0.5, 1.0)])
    with pytest.raises(SystemExit, match="other than 0 and 1"):
        R.convert([bad])
    with pytest.raises(SystemExit, match="not a RouterBench CSV"):
        R.convert([_csv(tmp_path / "c.csv", [{"id": 1}])])


def test_a_missing_source_is_one_line(tmp_path):
    with pytest.raises(SystemExit, match="does not exist: give the folder datasets/routerbench_zs"):
        R.main([str(tmp_path / "nope"), str(tmp_path / "m.parquet")])
    with pytest.raises(SystemExit, match="no CSV files"):
        R.main([str(tmp_path), str(tmp_path / "m.parquet")])
