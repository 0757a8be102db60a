"""A predictor trained with the text statistics (--text_features) scores the corpus from its texts."""

import numpy as np
import pandas as pd
import predictor_synth as S
import pytest
import torch

from ddcf.difficulty import stage as dstage
from ddcf.difficulty.config import DifficultyConfig
from ddcf.errors import DDCFError
from ddcf.io import write_parquet
from ddcf.layout import Layout
from ddcf.predictor import stage as pstage
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.features import TEXT_FEATURES, text_features
from ddcf.predictor.store import load_predictor

FAST = dict(ensemble=1, max_epochs=8, baselines=[], threads=1, device="cpu", no_progress=True, no_plot=True)


def test_text_features_by_hand():
    f = text_features(["Tom has 12 apples and 3.5 pears. How many?", r"Find $\frac{1}{2}+x=3$.", ""])
    assert f.shape == (3, len(TEXT_FEATURES)) and f.dtype == np.float32
    raw = np.expm1(f).round().astype(int)
    names = dict(zip(TEXT_FEATURES, raw[0]))
    assert names["log_chars"] == 42 and names["log_words"] == 9 and names["log_numbers"] == 2
    assert names["log_longest_number"] == 3 and names["log_sentences"] == 2 and names["log_latex_commands"] == 0
    b = dict(zip(TEXT_FEATURES, raw[1]))
    assert b["log_latex_commands"] == 1 and b["log_dollars"] == 2 and b["log_operators"] == 2 and b["log_numbers"] == 3
    assert (raw[2] == 0).all()


@pytest.fixture
def texted(tmp_path):
    layout = Layout(tmp_path / "w")
    synth = S.build(layout, n_models=4, n_questions=80, corpus_n=30, test_frac=0.2)
    rng = np.random.default_rng(0)
    write_parquet(pd.DataFrame({"question_id": synth.question_ids,
                                "question": [f"q {i} " + "x + 1 = 2. " * int(rng.integers(1, 6))
                                             for i in range(len(synth.question_ids))]}), layout.seed_questions)
    return layout, synth


def test_predictor_with_text_features_scores_the_corpus_from_its_texts(texted):
    layout, synth = texted
    report = pstage.run(layout, PredictorConfig(**FAST))
    pred = load_predictor(layout.predictor_config, layout.predictor_weights)
    assert pred.model.n_text == len(TEXT_FEATURES) and report.details["stats"]["has_question_texts"]
    assert pred.config["text_features"]["names"] == list(TEXT_FEATURES)
    dstage.run(layout, DifficultyConfig(model_name=synth.models[1], device="cpu", no_progress=True, no_plot=True))
    got = pd.read_parquet(layout.difficulty(synth.models[1]))["predicted_correctness"].to_numpy()
    cq = pd.read_parquet(layout.corpus_questions).set_index("question_id").loc[synth.corpus_ids, "question"]
    x = np.concatenate([synth.corpus_embeddings, text_features(cq.tolist())], axis=1)
    expect = pred.model.predict_proba(torch.full((len(x),), 1), torch.from_numpy(x), pred.temperature).numpy()
    np.testing.assert_allclose(got, expect, atol=1e-6)

    write_parquet(pd.read_parquet(layout.corpus_questions).iloc[:-3], layout.corpus_questions)
    with pytest.raises(DDCFError, match="lacks the text of 3 of the 30 questions"):
        dstage.run(layout, DifficultyConfig(model_name=synth.models[1], device="cpu", no_progress=True, no_plot=True))


def test_text_features_off_and_on_without_texts(texted, tmp_path):
    layout, _ = texted
    pstage.run(layout, PredictorConfig(**FAST, text_features="off"))
    assert load_predictor(layout.predictor_config, layout.predictor_weights).model.n_text == 0
    layout.seed_questions.unlink()
    pstage.run(layout, PredictorConfig(**FAST))  # auto: no texts, no statistics
    assert load_predictor(layout.predictor_config, layout.predictor_weights).model.n_text == 0
    with pytest.raises(DDCFError, match="--text_features on"):
        pstage.run(layout, PredictorConfig(**FAST, text_features="on"))



def test_crowd_selection_scores_the_pool_with_its_texts(texted):
    """crowd/ds2 score the pool themselves (ddcf.select.methods.predicted): with a predictor that reads the text
    statistics, they use the pool's own question texts and agree with stage 5's scores."""
    from ddcf.select import stage as sstage
    from ddcf.select.config import SelectConfig
    from ddcf.select.methods.common import Context
    from ddcf.select.methods.predicted import predicted_matrix
    from ddcf.select.pools import load_pool

    layout, synth = texted
    pstage.run(layout, PredictorConfig(**FAST))
    dstage.run(layout, DifficultyConfig(all_models=True, device="cpu", no_progress=True, no_plot=True))
    cfg = SelectConfig(model_name=synth.models[0], method="crowd", num_select=6, clusters=3, no_progress=True,
                       crowd_stability="accuracy")  # the synthetic model names carry no sizes
    assert sstage.run(layout, cfg).exit_code in (0, None)
    ctx = Context(layout=layout, config=cfg, pool=load_pool(layout, synth.models[0]), k=6)
    p, models, _ = predicted_matrix(ctx, [synth.models[2]])
    stage5 = pd.read_parquet(layout.difficulty(synth.models[2])).set_index("question_id")["predicted_correctness"]
    assert models == [synth.models[2]]
    np.testing.assert_allclose(p[0], stage5.loc[list(ctx.pool.ids)].to_numpy(), atol=1e-6)
