"""The corpus table's one reader and one writer (ddcf.artifacts.corpus), and its duplicate-text rule."""

import pandas as pd
import pytest

from ddcf.artifacts import corpus
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import write_parquet
from ddcf.layout import Layout


@pytest.fixture
def layout(tmp_path):
    return Layout(tmp_path)


def table(n=5, **extra):
    df = pd.DataFrame({"question_id": [f"q{i}" for i in range(n)], "question": [f"What is {i}+1?" for i in range(n)],
                       "response": [f"It is {i + 1}." for i in range(n)], "answer": [str(i + 1) for i in range(n)],
                       "dataset": ["gsm8k"] * n})
    return df.assign(**extra)


def test_round_trip_keeps_rows_and_records_provenance(layout):
    written = corpus.write_corpus(layout, table(), provenance={"source": "test"})
    assert written.path == layout.corpus_questions and written.rows == 5
    back = corpus.read_corpus(layout, columns=corpus.COLUMNS)
    pd.testing.assert_frame_equal(back, table())
    assert corpus.provenance(layout)["source"] == "test"
    assert corpus.provenance(layout)["duplicates_dropped"] == 0
    assert corpus.count(layout) == 5 and corpus.read_ids(layout) == [f"q{i}" for i in range(5)]


def test_only_the_asked_rows_in_the_asked_order(layout):
    corpus.write_corpus(layout, table())
    rows = corpus.read_corpus(layout, columns=("question_id", "question"), ids=["q3", "q0"])
    assert rows["question_id"].tolist() == ["q3", "q0"] and list(rows.columns) == ["question_id", "question"]
    assert rows["question"].tolist() == ["What is 3+1?", "What is 0+1?"]
    with pytest.raises(InputMismatchError, match=r"1 of the 2 questions .* not in the corpus .*'q9'"):
        corpus.read_corpus(layout, ids=["q1", "q9"])


def test_numeric_ids_are_read_as_text(layout):
    write_parquet(pd.DataFrame({"question_id": [1, 2], "question": ["a?", "b?"]}), layout.corpus_questions)
    assert corpus.read_corpus(layout, ids=["2"])["question_id"].tolist() == ["2"]


def test_optional_columns_get_their_defaults_or_stay_absent(layout):
    write_parquet(pd.DataFrame({"question_id": ["a"], "question": ["q?"]}), layout.corpus_questions)
    df = corpus.read_corpus(layout, optional=("subject",))  # an unannotated corpus: no response, no dataset
    assert df.to_dict("records") == [{"question_id": "a", "question": "q?", "response": "", "dataset": "unknown"}]
    with pytest.raises(DDCFError, match=r"lacks the column\(s\) answer"):
        corpus.read_corpus(layout, columns=("question_id", "answer"))


@pytest.mark.parametrize("bad, message", [
    (None, "does not exist"),
    (pd.DataFrame({"question_id": ["a"]}), r"lacks the column\(s\) question"),
    (pd.DataFrame({"question_id": ["a", "a"], "question": ["x", "y"]}), r"repeats 1 question id\(s\) \(e.g. 'a'\)"),
    (pd.DataFrame({"question_id": pd.Series([], dtype=str), "question": pd.Series([], dtype=str)}), "has no rows"),
    (pd.DataFrame({"question_id": ["a", None], "question": ["x", "y"]}), "without a question id"),
])
def test_reader_refuses_bad_tables_naming_the_file(layout, bad, message):
    if bad is not None:
        write_parquet(bad, layout.corpus_questions)
    with pytest.raises(DDCFError, match=message) as err:
        corpus.read_corpus(layout)
    assert str(layout.corpus_questions) in str(err.value) and "Fix:" in str(err.value)


def test_damaged_file_is_one_clear_error(layout):
    layout.corpus_questions.parent.mkdir(parents=True)
    layout.corpus_questions.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(DDCFError, match="Could not read the corpus questions file"):
        corpus.read_corpus(layout)


def test_blank_questions_refused_when_asked(layout):
    write_parquet(table(3).assign(question=["a?", " \u200b ", "c?"]), layout.corpus_questions)
    corpus.read_corpus(layout)  # not checked unless asked (the selection checks its picks)
    with pytest.raises(DDCFError, match=r"1 empty question text\(s\) .*e.g. 'q1'"):
        corpus.read_corpus(layout, check_blank=True)


def test_duplicate_texts_dropped_after_whitespace_normalisation_first_id_kept(layout):
    df = table(4).assign(question=["What  is 1?", "Other?", "What is 1?\n", " What is\t1? "])
    written = corpus.write_corpus(layout, df)
    assert written.rows == 2 and corpus.read_ids(layout) == ["q0", "q1"]
    assert corpus.provenance(layout)["duplicate_texts"] == 2
    assert corpus.provenance(layout)["duplicates_dropped"] == 2
    assert written.dedupe.summary().startswith("2 duplicate question text(s) dropped")


def test_keep_duplicates_keeps_every_row_and_counts_them(layout):
    df = table(3).assign(question=["Same?", "Same?", "Other?"])
    written = corpus.write_corpus(layout, df, keep_duplicates=True)
    assert written.rows == 3 and corpus.provenance(layout)["duplicate_texts"] == 1
    assert corpus.provenance(layout)["duplicates_dropped"] == 0


def test_the_streamed_hub_conversion_uses_the_same_rule(tmp_path):
    """The full-corpus CSV (ddcf download) goes through the same DuplicateTexts, block by block."""
    from ddcf.hub.corpus_csv import convert_corpus_csv

    csv = tmp_path / "fullcorpus.csv"
    pd.DataFrame({"prompt_id": [1, 2, 3], "prompt": ["Same  question?", "Other?", "Same question?"],
                  "response": ["r1", "r2", "r3"], "gold": ["1", "2", "3"], "subject": ["a", "b", "a"],
                  "len": [10, 20, 30]}).to_csv(csv, index=False)
    layout = Layout(tmp_path / "work")
    dedupe = corpus.DuplicateTexts()
    convert_corpus_csv(csv, layout.corpus_questions, what="csv", fix="f", provenance={"source": "x"},
                       progress=False, dedupe=dedupe)
    ids = corpus.read_ids(layout)
    assert len(ids) == 2 and ids[0].endswith("1") and ids[1].endswith("2")
    prov = corpus.provenance(layout)
    assert prov["source"] == "x" and prov["duplicates_dropped"] == 1
