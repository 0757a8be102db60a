"""Stage 5: scoring the corpus with the trained predictor (ddcf.difficulty.stage.run)."""

import shutil

import numpy as np
import pandas as pd
import predictor_synth as S
import pytest
import torch

from ddcf.difficulty.config import DifficultyConfig
from ddcf.difficulty.stage import run
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import load_embeddings, read_parquet_metadata, save_embeddings
from ddcf.predictor.store import load_predictor


def run_difficulty(layout, **options):
    """Run the stage with progress bars off (the tests' default) and the given options."""
    return run(layout, DifficultyConfig(**{"no_progress": True, **options}))


def load(layout):
    return load_predictor(layout.predictor_config, layout.predictor_weights)


def test_one_model_end_to_end(work):
    layout, synth = work
    model = synth.models[2]
    report = run_difficulty(layout, model_name=model, chunk_size=16, device="cpu")
    path = layout.difficulty(model)
    df = pd.read_parquet(path)
    # the ensemble's members' spread (issue 23): p (1 - p) sd_i(logit_i / T) / sqrt(N), from each member's own forward
    assert list(df.columns) == ["question_id", "predicted_correctness", "predicted_correctness_se"]
    assert df["predicted_correctness"].dtype == np.float32
    assert df["question_id"].tolist() == synth.corpus_ids
    assert df["predicted_correctness"].between(0, 1).all()
    # Same numbers as the model's own forward pass (chunking and the fused head change nothing).
    pred = load(layout)
    expect = pred.model.predict_proba(torch.full((70,), 2), torch.from_numpy(synth.corpus_embeddings),
                                      temperature=pred.temperature).numpy()
    assert pred.temperature != 1.0  # the calibration fitted on validation is applied
    np.testing.assert_allclose(df["predicted_correctness"].to_numpy(), expect, atol=1e-6)
    with torch.no_grad():
        x = pred.model.prepare(torch.from_numpy(synth.corpus_embeddings))
        z = torch.stack([m(x)[:, 2] for m in pred.model.members]).double().numpy() / pred.temperature
    se = expect * (1 - expect) * z.std(0, ddof=1) / np.sqrt(len(z))
    np.testing.assert_allclose(df["predicted_correctness_se"].to_numpy(), se, rtol=1e-4, atol=1e-7)
    assert (se > 0).all()
    meta = read_parquet_metadata(path)
    assert meta["model"] == model and meta["predictor_config_sha256"] == pred.config_sha256
    assert len(meta["corpus_question_ids_sha256"]) == 64
    assert layout.difficulty_histogram(model).stat().st_size > 0
    assert report.details["n_questions"] == 70 and report.details["models"] == [model]
    assert report.config_dir == layout.factorized
    # per-dataset rows appear because the corpus question table exists
    assert set(report.details["table"]["dataset"]) == {"(all)", "gsm8k", "aime"}
    assert not layout.factorized_embeddings.exists()


def test_all_models_and_factorized_embeddings(work):
    layout, synth = work
    run_difficulty(layout, all_models=True, save_factorized_embeddings=True, device="cpu", no_plot=True)
    for m in synth.models:
        assert layout.difficulty(m).exists()
    arr, ids, manifest = load_embeddings(layout.factorized_embeddings, "factorized")
    pred = load(layout)
    assert ids == synth.corpus_ids and arr.shape == (70, pred.model.factor_dim) == (70, 2 * 32)
    with torch.no_grad():
        expect = pred.model.encode_questions(torch.from_numpy(synth.corpus_embeddings)).numpy()
    np.testing.assert_allclose(arr, expect, atol=1e-6)
    assert manifest["predictor_config_sha256"] == pred.config_sha256


def test_unknown_model_lists_close_matches(work):
    layout, _ = work
    with pytest.raises(DDCFError, match="close matches: org/model-1"):
        run_difficulty(layout, model_name="org/modell-1")


def test_embedding_model_mismatch(work):
    layout, synth = work
    save_embeddings(synth.corpus_embeddings, synth.corpus_ids, layout.corpus_embeddings,
                    dict(embedding_model="other/embedder", normalized=True))
    match = "trained with toy/embedder-v1 \\(dim 16\\).*other/embedder \\(dim 16\\)"
    with pytest.raises(InputMismatchError, match=match):
        run_difficulty(layout, model_name=synth.models[0])


def test_dimension_mismatch(work):
    layout, synth = work
    save_embeddings(S.unit_rows(np.ones((70, 8))), synth.corpus_ids, layout.corpus_embeddings,
                    dict(embedding_model=S.EMBEDDER, normalized=True))
    with pytest.raises(InputMismatchError, match="dim 8"):
        run_difficulty(layout, model_name=synth.models[0])


def test_missing_predictor_and_corpus(work):
    layout, synth = work
    layout.corpus_embeddings.unlink()
    with pytest.raises(DDCFError, match="corpus.npy does not exist"):
        run_difficulty(layout, model_name=synth.models[0])
    shutil.rmtree(layout.predictor_dir)
    with pytest.raises(DDCFError, match="config.json does not exist"):
        run_difficulty(layout, model_name=synth.models[0])


def test_nan_corpus_embeddings(work):
    layout, synth = work
    bad = synth.corpus_embeddings.copy()
    bad[5, 0] = np.nan
    save_embeddings(bad, synth.corpus_ids, layout.corpus_embeddings, dict(embedding_model=S.EMBEDDER, normalized=True))
    with pytest.raises(DDCFError, match="non-finite"):
        run_difficulty(layout, model_name=synth.models[0])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_gpu_is_a_clear_error(work):
    layout, synth = work
    with pytest.raises(DDCFError, match="no CUDA GPU"):
        run_difficulty(layout, model_name=synth.models[0], device="cuda")


def test_unrecorded_embedding_model_warns_but_runs(work):
    layout, synth = work
    save_embeddings(synth.corpus_embeddings, synth.corpus_ids, layout.corpus_embeddings, dict(normalized=True))
    report = run_difficulty(layout, model_name=synth.models[0], no_plot=True, device="cpu")
    assert report.warnings and "not recorded" in report.warnings[0]


def test_normalisation_mismatch(work):
    layout, synth = work
    save_embeddings(synth.corpus_embeddings * 3, synth.corpus_ids, layout.corpus_embeddings,
                    dict(embedding_model=S.EMBEDDER, normalized=False))
    with pytest.raises(InputMismatchError, match="unnormalised"):
        run_difficulty(layout, model_name=synth.models[0])


def test_corpus_table_without_dataset_column_is_fine(work):
    """README: `dataset` is optional in the corpus table; difficulty and selection still run."""
    from ddcf.io import write_parquet
    from ddcf.select.cli import main as select_main

    layout, synth = work
    cq = pd.read_parquet(layout.corpus_questions)
    if "response" not in cq.columns:
        cq["response"] = "worked solution"
    if "question" not in cq.columns:
        cq["question"] = "q " + cq["question_id"].astype(str)
    write_parquet(cq.drop(columns=["dataset"], errors="ignore"), layout.corpus_questions)
    model = synth.models[0]
    report = run_difficulty(layout, model_name=model, chunk_size=32, device="cpu")
    assert set(report.details["table"]["dataset"]) == {"(all)"}
    argv = ["--workdir", str(layout.root), "--model_name", model, "--num_select", "5", "--no_progress"]
    assert select_main(argv) == 0
    sel = pd.read_parquet(layout.selection_table(layout.selection_dir(model, 0.2, 5)))
    assert len(sel) == 5 and set(sel["dataset"]) == {"unknown"}
