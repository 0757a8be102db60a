"""ddcf probe plan / fit: only the new model's row moves, the planner finds the informative questions, errors."""

import numpy as np
import pandas as pd
import predictor_synth as S
import pytest
import torch
from safetensors.torch import load_file

from ddcf.errors import DDCFError
from ddcf.generate.questions import read_question_list
from ddcf.io import save_embeddings, write_csv, write_parquet
from ddcf.layout import Layout
from ddcf.predictor.config import PredictorConfig
from ddcf.predictor.stage import run as train
from ddcf.predictor.store import load_predictor
from ddcf.probe.cli import command
from ddcf.probe.config import ProbeConfig
from ddcf.probe.stage import run

FAST = dict(ensemble=1, max_epochs=20, baselines=[], no_progress=True, no_plot=True)
NEW = "org/new-model"


def trained(tmp_path, arch="factor", **kw):
    layout = Layout(tmp_path)
    synth = S.build(layout, n_models=6, n_questions=200, **kw)
    base = FAST if arch == "factor" else {k: v for k, v in FAST.items() if k not in ("ensemble", "max_epochs")}
    extra = dict(ensemble=2) if arch == "factor" else dict(epochs=3)
    train(layout, PredictorConfig(**{**base, "arch": arch, **extra}))
    return layout, synth


def write_verdicts(layout, ids, correct, model=NEW):
    write_parquet(pd.DataFrame(dict(model=model, question_id=ids, question="q", correct=correct,
                                    dataset="gsm8k")), layout.verdicts(model))


def probe(layout, action, **kw):
    return run(layout, ProbeConfig(action=action, model_name=kw.pop("model_name", NEW), no_progress=True, **kw))


@pytest.fixture(scope="module")
def factor_dir(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("factor"))


@pytest.mark.parametrize("arch", ["factor", "paper"])
def test_fit_moves_only_the_new_models_row(tmp_path, arch):
    layout, synth = trained(tmp_path, arch)
    before = load_file(str(layout.predictor_weights))
    rep = probe(layout, "plan", num=40)
    ids = read_question_list(rep.details["path"])  # the list round-trips through infer.py's --questions reader
    assert ids == rep.details["questions"] and len(ids) == 40
    train_q = set(synth.train["question_id"])
    assert set(ids) <= train_q  # never validation or test questions
    # the new model answers like model 0 (the planted rule), on the probe questions only
    truth = synth.train[synth.train.model_id == 0].set_index("question_id")["correct"]
    write_verdicts(layout, ids, truth.loc[ids].to_numpy())
    rep = probe(layout, "fit")
    after = load_file(str(layout.predictor_weights))
    assert set(after) == set(before)
    grown = 0
    for name, old in before.items():
        new = after[name]
        if new.shape == old.shape:
            assert torch.equal(new, old), name  # bit-identical
        else:  # the model side: exactly one more row, the old rows untouched
            assert new.shape[0] == old.shape[0] + 1 and torch.equal(new[:-1], old), name
            grown += 1
    assert grown == (2 * 2 if arch == "factor" else 1)  # (weight, bias) per member / the embedding table
    pred = load_predictor(layout.predictor_config, layout.predictor_weights)
    assert pred.models[-1] == NEW and NEW in pred.config["models_with_training_rows"]
    cs = pred.config["cold_started"][NEW]
    assert cs["n_answers"] == 40 and cs["n_correct"] == int(truth.loc[ids].sum()) and cs["strategy"] == "doptimal"
    assert pred.config["train_rows_per_model"][NEW] == 40
    mo = pd.read_csv(layout.model_order)
    assert mo["model"].tolist()[-1] == NEW and mo["model_id"].tolist() == list(range(7))
    assert (layout.predictor_previous_dir / "config.json").exists()
    prev = load_predictor(layout.predictor_previous_dir / "config.json", layout.predictor_previous_dir /
                          "model.safetensors")
    assert prev.models == synth.models
    if arch == "factor":  # 40 answers recover the new model's ranking on the other training questions
        rest = [q for q in truth.index if q not in set(ids)]
        from ddcf.predictor.metrics import roc_auc
        from ddcf.probe.context import seed_embeddings
        x = torch.from_numpy(seed_embeddings(layout, pred, rest, "test"))
        p = pred.model.predict_proba(torch.full((len(rest),), 6), x).numpy()
        assert roc_auc(truth.loc[rest].to_numpy(), p) > 0.8


def planted(layout, n_models=8, n_questions=240, dim=8, seed=0):
    """Half the questions (a cluster in embedding space) every model answers correctly: zero information."""
    rng = np.random.default_rng(seed)
    hard = S.unit_rows(rng.standard_normal((n_questions // 2, dim)))
    easy_dir = S.unit_rows(rng.standard_normal((1, dim)))
    easy = S.unit_rows(easy_dir + 0.05 * rng.standard_normal((n_questions // 2, dim)))
    emb = np.vstack([hard, easy])
    skill = rng.standard_normal((n_models, dim))
    bias = rng.normal(0, 0.3, n_models)
    correct = ((skill @ emb.T + bias[:, None]) > 0).astype(np.int8)
    correct[:, n_questions // 2:] = 1
    qids = [f"q{i:04d}" for i in range(n_questions)]
    models = [f"m{i}" for i in range(n_models)]
    val = set(rng.choice(n_questions, n_questions // 5, replace=False).tolist())
    df = pd.DataFrame([dict(model_id=m, model=models[m], question_id=qids[q], correct=correct[m, q],
                            dataset="gsm8k", split="val" if q in val else "train")
                       for m in range(n_models) for q in range(n_questions)])
    cols = ["model_id", "model", "question_id", "correct", "dataset"]
    write_csv(pd.DataFrame({"model_id": range(n_models), "model": models}), layout.model_order)
    write_parquet(df, layout.matrix)
    write_parquet(df[df.split == "train"][cols].reset_index(drop=True), layout.train_split)
    write_parquet(df[df.split == "val"][cols].reset_index(drop=True), layout.val_split)
    save_embeddings(emb, qids, layout.seed_embeddings, dict(embedding_model=S.EMBEDDER, normalized=True))
    return set(qids[n_questions // 2:])


def test_planner_recovers_the_informative_questions(tmp_path):
    layout = Layout(tmp_path)
    uninformative = planted(layout)
    train(layout, PredictorConfig(**{**FAST, "max_epochs": 60}))
    share = {}
    for strategy in ("doptimal", "spread", "information", "random"):
        ids = probe(layout, "plan", num=30, strategy=strategy).details["questions"]
        share[strategy] = np.mean([q not in uninformative for q in ids])
    assert min(share["doptimal"], share["spread"], share["information"]) >= 0.9, share
    assert share["random"] < 0.75, share


def test_errors(factor_dir, tmp_path):
    layout, synth = factor_dir
    with pytest.raises(DDCFError, match="already exists; *|already exists"):
        probe(layout, "plan", model_name=synth.models[0])
    with pytest.raises(DDCFError, match="neither its probe list .* nor its verdicts"):
        probe(layout, "fit")  # fitting before planning
    probe(layout, "plan", num=10)
    with pytest.raises(DDCFError, match="There are no verdicts .* infer.py --workdir \\S+ --model_name"):
        probe(layout, "fit")
    write_verdicts(layout, ["q0001", "nope/1", "nope/2"], [1, 0, 1])
    with pytest.raises(DDCFError, match="2 question id\\(s\\) of the verdict table .* 'nope/1'"):
        probe(layout, "fit")
    with pytest.raises(DDCFError, match="needs --model_name"):
        ProbeConfig(action="fit").validate()
    with pytest.raises(DDCFError, match="budget strategy"):
        ProbeConfig(action="plan", model_name=NEW, strategy="planned").validate()


def test_one_class_probe_set_warns_and_moves_only_the_bias(factor_dir, tmp_path):
    import shutil
    layout = Layout(tmp_path / "w")
    shutil.copytree(factor_dir[0].root, layout.root)
    ids = probe(layout, "plan", num=8).details["questions"]
    write_verdicts(layout, ids, [1] * len(ids))
    before = load_predictor(layout.predictor_config, layout.predictor_weights).model
    rep = probe(layout, "fit")
    assert any("only moved its bias" in w for w in rep.warnings) and rep.details["bias_only"]
    after = load_predictor(layout.predictor_config, layout.predictor_weights).model
    known = torch.arange(6)
    with torch.no_grad():
        d_new, b_new = after.directions(torch.tensor([6]))
        d_known, b_known = before.directions(known)
    assert torch.allclose(d_new[0], d_known.mean(0), atol=1e-6) and float(b_new) > float(b_known.mean())
    # NEW now exists: a second fit is refused, clearly
    with pytest.raises(DDCFError, match="already exists"):
        probe(layout, "fit")


def test_cli_and_budget_wiring(factor_dir, capsys):
    layout, _ = factor_dir
    parser = command.build_parser()
    cfg = command.parse(["plan", "--model_name", NEW, "--num", "5", "--workdir", str(layout.root)])
    assert cfg.action == "plan" and cfg.num == 5 and cfg.plan_strategy == "doptimal"
    assert "--questions_out" in parser.format_help()
    cfg = ProbeConfig(action="budget", budget=0.25)
    assert cfg.validate().budget_strategy == "random"  # the best in benchmarks/bench_budget.py
    with pytest.raises(DDCFError, match="exactly one of --budget and --gpu_hours"):
        ProbeConfig(action="budget").validate()


def test_cold_started_model_with_text_features_gets_difficulty_and_selection(tmp_path):
    """A predictor that reads the question text: plan and fit use the seed texts, and difficulty estimation and
    selection then work for the new model unchanged."""
    from ddcf.difficulty import stage as dstage
    from ddcf.difficulty.config import DifficultyConfig
    from ddcf.select import stage as sstage
    from ddcf.select.config import SelectConfig

    layout = Layout(tmp_path)
    synth = S.build(layout, n_models=6, n_questions=200, test_frac=0.1)
    write_parquet(pd.DataFrame({"question_id": synth.question_ids,
                                "question": [f"{i} + {i % 7} = ?" for i in range(len(synth.question_ids))]}),
                  layout.seed_questions)
    train(layout, PredictorConfig(**{**FAST, "ensemble": 2}))
    assert load_predictor(layout.predictor_config, layout.predictor_weights).model.n_text > 0
    ids = probe(layout, "plan", num=30).details["questions"]
    truth = synth.train[synth.train.model_id == 1].set_index("question_id")["correct"]
    write_verdicts(layout, ids, truth.loc[ids].to_numpy())
    probe(layout, "fit")
    dstage.run(layout, DifficultyConfig(model_name=NEW, device="cpu", no_progress=True, no_plot=True))
    p = pd.read_parquet(layout.difficulty(NEW))["predicted_correctness"]
    assert len(p) == len(synth.corpus_ids) and p.between(0, 1).all()
    rep = sstage.run(layout, SelectConfig(model_name=NEW, num_select=5, no_progress=True))
    assert rep.exit_code in (0, None)
