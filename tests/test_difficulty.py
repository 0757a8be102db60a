import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "predictor"))
import predictor_synth as S  # noqa: E402

from ddcf.cli import run_main  # noqa: E402
from ddcf.difficulty import histogram_path, run_difficulty  # noqa: E402
from ddcf.errors import DDCFError, InputMismatchError  # noqa: E402
from ddcf.io import load_embeddings, read_parquet_metadata, save_embeddings  # noqa: E402
from ddcf.layout import Layout  # noqa: E402
from ddcf.predictor.config import TrainConfig  # noqa: E402
from ddcf.predictor.store import load_predictor  # noqa: E402
from ddcf.predictor.train import run_training  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("diff") / "work")
    synth = S.build(layout, n_models=4, n_questions=80, corpus_n=70)
    run_training(layout, TrainConfig(epochs=2, batch_size=128, threads=1, device="cpu"), progress=False, plot=False)
    return layout, synth


@pytest.fixture
def work(base, tmp_path):
    layout, synth = base
    copy = Layout(tmp_path / "work")
    shutil.copytree(layout.root, copy.root)
    return copy, synth


def test_one_model_end_to_end(work):
    layout, synth = work
    model = synth.models[2]
    report = run_difficulty(layout, model_name=model, chunk_size=16, device="cpu", progress=False)
    path = layout.difficulty(model)
    df = pd.read_parquet(path)
    assert list(df.columns) == ["question_id", "predicted_correctness"]
    assert df["predicted_correctness"].dtype == np.float32
    assert df["question_id"].tolist() == synth.corpus_ids
    assert df["predicted_correctness"].between(0, 1).all()
    # Same numbers as the model's own forward pass (chunking and the fused head change nothing).
    pred = load_predictor(layout.predictor_dir)
    expect = pred.model.predict_proba(torch.full((70,), 2), torch.from_numpy(synth.corpus_embeddings)).numpy()
    np.testing.assert_allclose(df["predicted_correctness"].to_numpy(), expect, atol=1e-6)
    meta = read_parquet_metadata(path)
    assert meta["model"] == model and meta["predictor_config_sha256"] == pred.config_sha256
    assert len(meta["corpus_question_ids_sha256"]) == 64
    assert histogram_path(layout, model).stat().st_size > 0
    assert report.n_questions == 70 and report.models == [model]
    # per-dataset rows appear because the corpus question table exists
    assert set(report.summary["dataset"]) == {"(all)", "gsm8k", "aime"}
    assert not layout.factorized_embeddings.exists()


def test_all_models_and_factorized_embeddings(work):
    layout, synth = work
    run_difficulty(layout, all_models=True, save_factorized=True, device="cpu", progress=False, plot=False)
    for m in synth.models:
        assert layout.difficulty(m).exists()
    arr, ids, manifest = load_embeddings(layout.factorized_embeddings, "factorized")
    assert ids == synth.corpus_ids and arr.shape == (70, 16)
    pred = load_predictor(layout.predictor_dir)
    with torch.no_grad():
        expect = pred.model.encode_questions(torch.from_numpy(synth.corpus_embeddings)).numpy()
    np.testing.assert_allclose(arr, expect, atol=1e-6)
    assert manifest["predictor_config_sha256"] == pred.config_sha256


def test_unknown_model_lists_close_matches(work):
    layout, _ = work
    with pytest.raises(DDCFError, match="close matches: org/model-1"):
        run_difficulty(layout, model_name="org/modell-1", progress=False)


def test_embedding_model_mismatch(work):
    layout, synth = work
    save_embeddings(synth.corpus_embeddings, synth.corpus_ids, layout.corpus_embeddings,
                    dict(embedding_model="other/embedder", normalized=True))
    with pytest.raises(InputMismatchError, match="trained with toy/embedder-v1 \\(dim 16\\).*other/embedder \\(dim 16\\)"):
        run_difficulty(layout, model_name=synth.models[0], progress=False)


def test_dimension_mismatch(work):
    layout, synth = work
    save_embeddings(S.unit_rows(np.ones((70, 8))), synth.corpus_ids, layout.corpus_embeddings,
                    dict(embedding_model=S.EMBEDDER, normalized=True))
    with pytest.raises(InputMismatchError, match="dim 8"):
        run_difficulty(layout, model_name=synth.models[0], progress=False)


def test_missing_predictor_and_corpus(work):
    layout, synth = work
    layout.corpus_embeddings.unlink()
    with pytest.raises(DDCFError, match="corpus.npy does not exist"):
        run_difficulty(layout, model_name=synth.models[0], progress=False)
    shutil.rmtree(layout.predictor_dir)
    with pytest.raises(DDCFError, match="config.json does not exist"):
        run_difficulty(layout, model_name=synth.models[0], progress=False)


def test_nan_corpus_embeddings(work):
    layout, synth = work
    bad = synth.corpus_embeddings.copy()
    bad[5, 0] = np.nan
    save_embeddings(bad, synth.corpus_ids, layout.corpus_embeddings, dict(embedding_model=S.EMBEDDER, normalized=True))
    with pytest.raises(DDCFError, match="non-finite"):
        run_difficulty(layout, model_name=synth.models[0], progress=False)


def test_cli(work, capsys):
    layout, synth = work
    sys.path.insert(0, str(ROOT))
    import fullcorpus_difficulty_estimation as script

    rc = run_main(script.main, ["--workdir", str(layout.root), "--model_name", synth.models[1], "--no_progress",
                                "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0 and "scored 70 corpus questions" in out and "gsm8k" in out
    assert run_main(script.main, ["--workdir", str(layout.root), "--model_name", "nope", "--no_progress"]) == 2
    assert "not one of the 4 models" in capsys.readouterr().err
    assert run_main(script.main, ["--workdir", str(layout.root), "--model_name", synth.models[0],
                                  "--chunk_size", "0"]) == 2
    assert run_main(script.main, ["--workdir", str(layout.root), "--all_models", "--device", "tpu"]) == 2
    assert "--device" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_gpu_is_a_clear_error(work):
    layout, synth = work
    with pytest.raises(DDCFError, match="no CUDA GPU"):
        run_difficulty(layout, model_name=synth.models[0], device="cuda", progress=False)


def test_unrecorded_embedding_model_warns_but_runs(work):
    layout, synth = work
    save_embeddings(synth.corpus_embeddings, synth.corpus_ids, layout.corpus_embeddings, dict(normalized=True))
    report = run_difficulty(layout, model_name=synth.models[0], progress=False, plot=False, device="cpu")
    assert report.warnings and "not recorded" in report.warnings[0]


def test_normalisation_mismatch(work):
    layout, synth = work
    save_embeddings(synth.corpus_embeddings * 3, synth.corpus_ids, layout.corpus_embeddings,
                    dict(embedding_model=S.EMBEDDER, normalized=False))
    with pytest.raises(InputMismatchError, match="unnormalised"):
        run_difficulty(layout, model_name=synth.models[0], progress=False)


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
    report = run_difficulty(layout, model_name=model, chunk_size=32, device="cpu", progress=False)
    assert set(report.summary["dataset"]) == {"(all)"}
    assert select_main(["--workdir", str(layout.root), "--model_name", model, "--num_select", "5", "--no_progress"]) == 0
    sel = pd.read_parquet(layout.selection_dir(model, 0.2, 5) / "selection.parquet")
    assert len(sel) == 5 and set(sel["dataset"]) == {"unknown"}
