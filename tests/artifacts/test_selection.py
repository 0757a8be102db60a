"""A selection folder (ddcf.artifacts.selection): the one reader every consumer (report, distill, summary) uses."""

import pandas as pd
import pytest

from ddcf.artifacts import selection
from ddcf.errors import DDCFError
from ddcf.io import write_json, write_parquet
from ddcf.layout import Layout


def make(folder, table=None, report=None):
    table = table if table is not None else pd.DataFrame({"rank": [2, 1], "question_id": [7, 3],
                                                          "predicted_correctness": [0.2, 0.1]})
    selection.write_selection_table(table, folder, {"model": "m", "lamda": 0.2})
    selection.write_selection_report(report if report is not None else {"model": "m", "method": "ddcf"}, folder)
    return folder


def test_round_trip_rank_order_text_ids(tmp_path):
    files = selection.read_selection(make(tmp_path / "run"))
    assert files.ids == ["3", "7"] and files.report["method"] == "ddcf" and files.meta["lamda"] == 0.2
    assert files.folder == tmp_path / "run" and files.options == {}


def test_an_older_runs_difficulty_column_is_read_as_predicted_correctness(tmp_path):
    folder = make(tmp_path / "run", pd.DataFrame({"rank": [1], "question_id": ["a"], "difficulty": [0.3]}))
    assert selection.read_selection(folder).table["predicted_correctness"].tolist() == [0.3]
    assert selection.block_value({"mean_difficulty": 0.4}, "mean_predicted_correctness") == 0.4


@pytest.mark.parametrize("table, message", [
    (pd.DataFrame({"rank": [1, 2], "question_id": ["a", "a"]}), "repeats the question id 'a'"),
    (pd.DataFrame({"question_id": ["a"]}), r"lacks the column\(s\) rank"),
    (pd.DataFrame({"rank": pd.Series([], dtype=int), "question_id": pd.Series([], dtype=str)}), "has no rows"),
])
def test_bad_tables_are_refused(tmp_path, table, message):
    folder = tmp_path / "run"
    write_parquet(table, Layout.selection_table(folder))
    write_json({"model": "m"}, Layout.selection_report(folder))
    with pytest.raises(DDCFError, match=message):
        selection.read_selection(folder)


def test_a_folder_without_report_or_table_is_no_selection(tmp_path):
    with pytest.raises(DDCFError, match="does not exist"):
        selection.read_selection(tmp_path / "missing")
    folder = make(tmp_path / "run")
    Layout.selection_report(folder).unlink()
    with pytest.raises(DDCFError, match="is not a selection folder: it has no report.json"):
        selection.read_selection(folder)
    Layout.selection_report(folder).write_text("[1, 2]")
    with pytest.raises(DDCFError, match="holds a list"):
        selection.read_selection(folder)
