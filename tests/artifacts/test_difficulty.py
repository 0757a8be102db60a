"""Stage 5's table (ddcf.artifacts.difficulty): one writer, one validated reader."""

import numpy as np
import pandas as pd
import pytest

from ddcf.artifacts import difficulty
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import write_json, write_parquet
from ddcf.layout import Layout

MODEL = "org/Target-7B"


@pytest.fixture
def layout(tmp_path):
    return Layout(tmp_path)


def frame(values=(0.1, 0.5, 0.9)):
    return pd.DataFrame({"question_id": [f"q{i}" for i in range(len(values))],
                         "predicted_correctness": np.asarray(values, np.float32)})


def test_round_trip(layout):
    path = difficulty.write_difficulty(layout, MODEL, frame(), {"model_train_rows": 12})
    assert path == layout.difficulty(MODEL)
    df, meta, p = difficulty.read_difficulty(layout, MODEL)
    assert p == path and meta["model"] == MODEL and meta["model_train_rows"] == 12
    pd.testing.assert_frame_equal(df, frame())


@pytest.mark.parametrize("df, message", [
    (frame((0.1, float("nan"))), "NaN or outside"),
    (frame((0.1, 1.5)), "NaN or outside"),
    (frame().assign(question_id=["a", "a", "b"]), "repeats the question id 'a'"),
    (frame().drop(columns="predicted_correctness"), r"lacks the column\(s\) predicted_correctness"),
])
def test_bad_tables_are_refused(layout, df, message):
    write_parquet(df, layout.difficulty(MODEL), metadata={"model": MODEL})
    with pytest.raises(DDCFError, match=message) as err:
        difficulty.read_difficulty(layout, MODEL)
    assert "fullcorpus_difficulty_estimation.py --model_name org/Target-7B" in str(err.value)


def test_another_models_table_is_refused(layout):
    write_parquet(frame(), layout.difficulty(MODEL), metadata={"model": "other"})
    with pytest.raises(InputMismatchError, match="computed for the model 'other'"):
        difficulty.read_difficulty(layout, MODEL)


def test_a_model_the_predictor_never_saw_is_refused(layout):
    difficulty.write_difficulty(layout, MODEL, frame(), {"model_train_rows": 0})
    with pytest.raises(DDCFError, match="never saw an answer of that model"):
        difficulty.read_difficulty(layout, MODEL)


def test_untrained_per_the_predictor_config_it_came_from(layout):
    from ddcf.artifacts.predictor import config_sha256

    cfg = {"models_with_training_rows": ["someone-else"]}
    write_json(cfg, layout.predictor_config)
    difficulty.write_difficulty(layout, MODEL, frame(), {"predictor_config_sha256": config_sha256(cfg)})
    with pytest.raises(DDCFError, match="never saw an answer"):
        difficulty.read_difficulty(layout, MODEL)
