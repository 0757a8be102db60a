"""Stage 5 never scores a model the predictor never saw an answer of, and never lets two models share a file."""

import json

import pytest

from ddcf.difficulty.config import DifficultyConfig
from ddcf.difficulty.stage import run
from ddcf.errors import DDCFError
from ddcf.io import read_parquet_metadata


def run_difficulty(layout, **options):
    return run(layout, DifficultyConfig(**{"no_progress": True, "device": "cpu", "no_plot": True, **options}))


def edit_config(layout, **changes):
    cfg = json.loads(layout.predictor_config.read_text())
    for key, value in changes.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    layout.predictor_config.write_text(json.dumps(cfg))


def test_a_model_without_training_rows_is_refused(work):
    layout, synth = work
    m = synth.models
    edit_config(layout, models_with_training_rows=[m[0], m[2], m[3]])
    with pytest.raises(DDCFError, match=f"never saw an answer of '{m[1]}'.*rerun create_training_data.py and "
                                        "train_correctness_predictor.py"):
        run_difficulty(layout, model_name=m[1])
    assert not layout.difficulty(m[1]).exists()


def test_all_models_skips_the_untrained_one_with_a_warning(work):
    layout, synth = work
    m = synth.models
    edit_config(layout, models_with_training_rows=[m[0], m[2], m[3]], one_class_models={m[3]: "correct"})
    report = run_difficulty(layout, all_models=True)
    assert report.details["models"] == [m[0], m[2], m[3]]
    assert not layout.difficulty(m[1]).exists()
    assert any(w.startswith(f"skipped '{m[1]}'") for w in report.warnings)
    assert any(f"every training answer of '{m[3]}' was correct" in w for w in report.warnings)
    meta = read_parquet_metadata(layout.difficulty(m[0]))
    assert meta["model_train_rows"] == int((synth.train["model"] == m[0]).sum())


def test_a_predictor_that_does_not_record_its_training_rows_is_scored_with_a_warning(work):
    layout, synth = work
    edit_config(layout, models_with_training_rows=None)
    report = run_difficulty(layout, model_name=synth.models[0])
    assert any("does not record which models had training rows" in w for w in report.warnings)
    assert layout.difficulty(synth.models[0]).exists()


def test_all_models_refuses_two_models_that_share_a_file(work):
    layout, synth = work
    names = ["Org/Model", "org/model", "org/m", "org__m"]  # a case-only clash, and a pair safe_name keeps apart
    edit_config(layout, models=names, models_with_training_rows=names)
    with pytest.raises(DDCFError, match="'Org/Model' and 'org/model' would be written to the same file"):
        run_difficulty(layout, all_models=True)
    assert not list(layout.factorized.glob("*.parquet"))
    edit_config(layout, models=["a", "org/model", "org/m", "org__m"], models_with_training_rows=None)
    report = run_difficulty(layout, all_models=True)
    assert len(list(layout.factorized.glob("*.parquet"))) == 4 == len(report.files)
