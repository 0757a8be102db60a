"""``ddcf report`` reads the corpus's ids/labels once and the texts of the selected rows only (issue 25)."""

import numpy as np
import pandas as pd

from ddcf.io import write_parquet
from ddcf.report.stage import corpus_table


def test_texts_of_the_selected_rows_only(layout):
    n = 30
    ids = [f"q{i:03d}" for i in range(n)]
    write_parquet(pd.DataFrame({"question_id": ids[::-1], "question": [f"question {i}" for i in range(n)][::-1],
                                "response": [f"a b {i}" for i in range(n)][::-1], "dataset": ["math"] * n,
                                "subject": ["algebra", None] * (n // 2)}), layout.corpus_questions)
    emb_ids = ids + ["ghost"]  # one embedded row the corpus lacks
    table, subject, warnings = corpus_table(layout, emb_ids, np.array([4, 30, 17, 4]))
    assert subject == "subject" and len(table) == n + 1 and "1 embedded corpus questions" in warnings[0]
    assert table["question_id"].tolist() == emb_ids
    assert table.loc[[4, 17], "question"].tolist() == ["question 4", "question 17"]
    assert table.loc[[4, 17], "response"].tolist() == ["a b 4", "a b 17"]
    others = np.setdiff1d(np.arange(n + 1), [4, 17])
    assert (table.loc[others, "question"] == "").all() and (table.loc[others, "response"] == "").all()
    assert table.loc[30, "dataset"] == "unknown" and (table["subject"] == "unknown").sum() == 15 + 1
    everything, _, _ = corpus_table(layout, emb_ids)  # None: every row's texts, as before
    assert everything.loc[[0, 29], "question"].tolist() == ["question 0", "question 29"]
