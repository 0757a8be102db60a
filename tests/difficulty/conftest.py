"""A trained predictor on a small synthetic work directory, shared by the difficulty tests."""

import shutil

import predictor_synth as S
import pytest

from ddcf.layout import Layout
from ddcf.predictor import stage as predictor_stage
from ddcf.predictor.config import PredictorConfig


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("diff") / "work")
    synth = S.build(layout, n_models=4, n_questions=80, corpus_n=70)
    predictor_stage.run(layout, PredictorConfig(ensemble=2, max_epochs=10, baselines=[], threads=1, device="cpu",
                                                no_progress=True, no_plot=True))
    return layout, synth


@pytest.fixture
def work(base, tmp_path):
    layout, synth = base
    copy = Layout(tmp_path / "work")
    shutil.copytree(layout.root, copy.root)
    return copy, synth
