"""The seed table's reader and the predictor files' torch-free reader."""

import pandas as pd
import pytest

from ddcf.artifacts import predictor, seed
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import write_json
from ddcf.layout import Layout


def test_seed_round_trip_and_checks(tmp_path):
    layout = Layout(tmp_path)
    df = pd.DataFrame({"question_id": ["a", "b"], "question": ["1+1?", "2+2?"], "gold": ["2", "4"]})
    seed.write_seed(layout, df, {"source": "t"})
    back = seed.read_seed(layout, columns=("question_id", "question", "gold", "dataset"), optional=("type",))
    assert back.to_dict("records")[0] == {"question_id": "a", "question": "1+1?", "gold": "2", "dataset": "unknown"}
    seed.write_seed(layout, df.assign(gold=["2", None]))
    seed.read_seed(layout)  # gold not asked for: not checked
    with pytest.raises(DDCFError, match="1 missing 'gold' value"):
        seed.read_seed(layout, columns=("question_id", "gold"))
    seed.write_seed(layout, df.assign(question=["1+1?", "  "]))
    with pytest.raises(DDCFError, match=r"1 empty question text\(s\)"):
        seed.read_seed(layout)


def test_predictor_config_reader(tmp_path):
    layout = Layout(tmp_path)
    layout.predictor_weights.parent.mkdir(parents=True)
    layout.predictor_weights.write_bytes(b"weights")
    from ddcf.io import file_sha256

    cfg = {"format": predictor.CONFIG_FORMAT, "models": ["m"], "weights_sha256": file_sha256(layout.predictor_weights)}
    predictor.write_config(cfg, layout)
    assert predictor.read_config(layout.predictor_config, layout.predictor_weights) == cfg
    layout.predictor_weights.write_bytes(b"other weights")
    with pytest.raises(InputMismatchError, match="do not match"):
        predictor.read_config(layout.predictor_config, layout.predictor_weights)
    write_json({"format": "x"}, layout.predictor_config)
    with pytest.raises(DDCFError, match="not a ddcf correctness-predictor config"):
        predictor.read_config(layout.predictor_config)
    assert predictor.config_sha256({"b": 1, "a": 2}) == predictor.config_sha256({"a": 2, "b": 1})
