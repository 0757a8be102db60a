"""The selectors with their own inputs: binary_hard and measured pass rates (seed pool), crowd and ds2 from the
predictor."""

import json

import numpy as np
import pandas as pd
import predictor_synth as S
import pytest
from helpers_select import clustered

from ddcf.generate.passrate import pass_rates, write_pass_rates
from ddcf.io import save_embeddings, write_parquet
from ddcf.layout import Layout
from ddcf.select.cli import main
from ddcf.select.methods import crowd

MODEL = "org/Target-7B"


def seed_layout(layout, n=40, samples=4):
    rng = np.random.default_rng(0)
    ids = [f"s{i:03d}" for i in range(n)]
    write_parquet(pd.DataFrame({"question_id": ids, "question": [f"Seed question {i}?" for i in range(n)],
                                "gold": [str(i) for i in range(n)], "dataset": "gsm8k"}), layout.seed_questions)
    save_embeddings(clustered(n, 8, 0), ids, layout.seed_embeddings, {"embedding_model": "m", "normalized": True})
    n_correct = rng.integers(0, samples + 1, n)
    rows = [dict(model=MODEL, question_id=q, question="?", dataset="gsm8k", completion=f"answer {q} #{s}",
                 prediction="1", gold="1", correct=bool(s < c), status="ok")
            for q, c in zip(ids, n_correct) for s in range(samples)]
    verdicts = pd.DataFrame(rows)
    write_parquet(verdicts, layout.verdicts(MODEL))
    write_pass_rates(layout, MODEL, pass_rates(verdicts))
    return ids, n_correct / samples


def select(layout, *args):
    out = layout.root / "out"
    assert main(["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", "--output_dir", str(out),
                 *args]) == 0
    return pd.read_parquet(out / "selection.parquet"), json.loads((out / "report.json").read_text()), out


def test_binary_hard_samples_wrong_seed_questions_with_their_completions(layout, tmp_path):
    from datasets import load_from_disk

    ids, rate = seed_layout(layout)
    sel, rep, out = select(layout, "--method", "binary_hard", "--num_select", "5")
    wrong = {q for q, r in zip(ids, rate) if r == 0}
    assert set(sel.question_id) <= wrong and sel.question_id.is_unique and len(sel) == 5
    assert (sel.predicted_correctness == 0).all() and rep["pool_kind"] == "seed"
    ds = load_from_disk(str(out / "dataset"))
    assert ds[0]["response"] == f"answer {ds[0]['question_id']} #0"  # its own seed-set completion
    again, _, _ = select(layout, "--method", "binary_hard", "--num_select", "5")
    assert again.question_id.tolist() == sel.question_id.tolist()
    (tmp_path / "pool.txt").write_text("\n".join(sorted(wrong)[:3]))
    pooled, _, _ = select(layout, "--method", "binary_hard", "--num_select", "3", "--pool", str(tmp_path / "pool.txt"))
    assert set(pooled.question_id) == set(sorted(wrong)[:3])


def test_passrate_band_on_measured_pass_rates(layout):
    ids, rate = seed_layout(layout)  # pass rates k / 4: the band's ends are hit exactly
    sel, rep, _ = select(layout, "--method", "passrate_band", "--passrate_source", "measured", "--band", "0.25,0.75",
                         "--num_select", "4")
    assert (sel.predicted_correctness == 0.5).all() and len(sel) == 4  # exclusive ends, as Reasoning360's filter
    sel, rep, _ = select(layout, "--method", "passrate_band", "--passrate_source", "measured", "--band", "0.25,0.5",
                         "--band_bounds", "inclusive", "--band_pick", "hardest", "--num_select", "4")
    assert (sel.predicted_correctness == 0.25).all() and len(sel) == 4  # the lower end kept (5 questions at 0.25)
    assert rep["inputs"]["correctness_source"].startswith("measured")


@pytest.fixture(scope="module")
def predicted(tmp_path_factory):
    from ddcf.predictor import stage as predictor_stage
    from ddcf.predictor.config import PredictorConfig

    layout = Layout(tmp_path_factory.mktemp("crowd") / "work")
    S.build(layout, n_models=4, n_questions=80, corpus_n=60)
    predictor_stage.run(layout, PredictorConfig(ensemble=2, max_epochs=10, baselines=[], threads=1, device="cpu",
                                                no_progress=True, no_plot=True))
    from ddcf.difficulty import stage as dstage
    from ddcf.difficulty.config import DifficultyConfig

    dstage.run(layout, DifficultyConfig(all_models=True, device="cpu", no_progress=True, no_plot=True))
    return layout


def test_crowd_covers_every_cluster_and_is_deterministic(predicted):
    global MODEL
    layout, old = predicted, MODEL
    MODEL = "org/model-0"
    try:
        fam = layout.root / "families.csv"  # the synthetic names carry no size: a family table gives them one
        fam.write_text("model,family,size\n" + "".join(f"org/model-{i},org,{i + 1}\n" for i in range(4)))
        sel, rep, _ = select(layout, "--method", "crowd", "--num_select", "8", "--clusters", "5",
                             "--crowd_families", str(fam))
        again, _, _ = select(layout, "--method", "crowd", "--num_select", "8", "--clusters", "5",
                             "--crowd_families", str(fam))
        assert sel.question_id.tolist() == again.question_id.tolist() and sel.question_id.is_unique
        assert rep["algorithm_stats"]["clusters_covered"] == 5 and rep["algorithm_stats"]["models"] == 4
        assert rep["algorithm_stats"]["families"] == {"org": [f"org/model-{i}" for i in range(4)]}
        from ddcf.errors import DDCFError

        with pytest.raises(DDCFError, match="--crowd_families FILE"):  # the synthetic names have no family
            select(layout, "--method", "crowd", "--num_select", "8", "--clusters", "5")
        acc, _, _ = select(layout, "--method", "crowd", "--num_select", "8", "--clusters", "5",
                           "--crowd_stability", "accuracy")
        assert len(acc) == 8 and acc.question_id.is_unique
        # recompute the clusters directly: every one is represented
        from ddcf.io import load_embeddings

        x, eids, _ = load_embeddings(layout.corpus_embeddings)
        labels = crowd.kmeans_labels(np.asarray(x), 5, 0)
        picked = {eids.index(q) for q in sel.question_id}
        assert {labels[i] for i in picked} == set(range(5))
        ds2_sel, ds2_rep, _ = select(layout, "--method", "ds2", "--num_select", "6", "--ds2_models", "org/model-1",
                                     "--neighbours", "5")
        assert len(ds2_sel) == 6 and ds2_sel.question_id.is_unique
        assert len(ds2_rep["algorithm_stats"]["transition_matrix"]) == 5
    finally:
        MODEL = old
