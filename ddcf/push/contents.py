"""What each artifact publishes: the files (from the layout) and the facts its card states.

Facts are read from the artifacts themselves (Parquet metadata, config.json, metrics.json, report.json and
the ``<stage>.config.yaml`` files the stages wrote), never re-derived, so a card describes exactly the files
it sits next to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ddcf.artifacts import selection
from ddcf.artifacts.matrix import read_matrix, read_model_order_table
from ddcf.artifacts.selection import block_value
from ddcf.bundled.files import CORPUS, SEED_COMPLETIONS
from ddcf.errors import DDCFError
from ddcf.io import read_parquet_metadata, read_side_file, require_file, side_value
from ddcf.layout import Layout

STAGE_FOLDERS = (("matrix", "correctness_dir"), ("predictor", "predictor_dir"), ("difficulty", "factorized"))
BUNDLED_LICENSE = ("MIT (bundled data: GSM8K and MATH train sets, AIME 1983-2023 via agentica-project/deepscaler; "
                   "seed answers from yuchenlin/ZeroEval, Apache-2.0)")
PREDICTOR_FILES = ("model.safetensors", "config.json", "metrics.json")


@dataclass
class Bundle:
    kind: str
    files: list[tuple[Path, str]]  # (source in the layout, path in the repo)
    facts: dict
    configs: dict[str, str] = field(default_factory=dict)  # stage -> the options it ran with (YAML)


def source_of(path: Path) -> dict:
    """Where a question table came from, and under which license, from its Parquet metadata."""
    if not Path(path).is_file():
        return {"source": "unknown (the table is not in this work directory)", "license": None}
    meta = read_parquet_metadata(path)
    src = str(meta.get("source") or "unknown")
    lic = meta.get("license")
    if not lic and src in (SEED_COMPLETIONS.name, CORPUS.name):
        lic = BUNDLED_LICENSE  # written by scripts/install_bundled_data.py from data/bundled/
    return {"source": src, "license": lic}


def stage_configs(layout: Layout, stages: list[tuple[str, Path]]) -> dict[str, str]:
    out = {}
    for stage, folder in stages:
        p = layout.resolved_config(folder, stage)
        if p.is_file():
            out[stage] = p.read_text()
    return out


def matrix_bundle(layout: Layout) -> Bundle:
    fix = "build it first: python create_training_data.py"
    m, meta = read_matrix(layout, fix=fix)
    order = read_model_order_table(layout, fix)
    per_model = m.groupby("model")["correct"].agg(["size", "mean"])
    facts = {
        "n_models": int(m["model"].nunique()), "n_questions": int(m["question_id"].nunique()), "n_pairs": len(m),
        "accuracy": float(m["correct"].mean()), "val_ratio": meta.get("val_ratio"), "split_seed": meta.get("seed"),
        "test_ratio": meta.get("test_ratio"), "folds": meta.get("folds"), "fold": meta.get("fold"),
        "split_questions": {s: meta.get(f"n_{s}_questions") for s in ("train", "val", "test")},
        "pass_threshold": meta.get("pass_threshold"), "verdict_source": meta.get("source"),
        "models": [(str(r.model), int(per_model.loc[r.model, "size"]) if r.model in per_model.index else 0,
                    float(per_model.loc[r.model, "mean"]) if r.model in per_model.index else float("nan"))
                   for r in order.sort_values("model_id").itertuples()],
        "by_dataset": {str(k): int(v) for k, v in m.groupby("dataset")["question_id"].nunique().items()}
        if "dataset" in m.columns else {},
        "seed": source_of(layout.seed_questions),
    }
    files = [(layout.matrix, "matrix.parquet"), (layout.model_order, "model_order.csv")]
    files += [(p, p.name) for p in (layout.train_split, layout.val_split, layout.test_split) if p.is_file()]
    return Bundle("matrix", files, facts, stage_configs(layout, [("matrix", layout.correctness_dir)]))


def predictor_facts(layout: Layout) -> dict:
    fix = "train it first: python train_correctness_predictor.py (or fetch one: ddcf pull predictor REPO)"
    cfg = read_side_file(layout.predictor_config, "predictor config", fix)
    metrics = read_side_file(layout.predictor_metrics, "predictor metrics", fix) \
        if layout.predictor_metrics.is_file() else {}
    for key in ("embedding", "architecture", "training", "split", "calibration"):
        side_value(cfg, key, dict, layout.predictor_config, "predictor config", fix, required=False)
    side_value(cfg, "models", list, layout.predictor_config, "predictor config", fix, required=False)
    final = side_value(metrics, "final", dict, layout.predictor_metrics, "predictor metrics", fix, required=False)
    if any(not isinstance(row, dict) for row in (final or {}).values()):
        raise DDCFError(f"The predictor metrics file {layout.predictor_metrics} has a 'final' entry that is not an "
                        "object of metrics.", fix)
    emb = cfg.get("embedding") or {}
    return {
        "embedding_model": emb.get("embedding_model"), "dim": emb.get("dim"), "normalized": emb.get("normalized"),
        "models": list(cfg.get("models") or []), "architecture": cfg.get("architecture") or {},
        "training": cfg.get("training") or {}, "split": cfg.get("split") or {}, "best_epoch": cfg.get("best_epoch"),
        "created_by": cfg.get("created_by"), "weights_sha256": cfg.get("weights_sha256"),
        "metrics": metrics.get("final") or {}, "data": metrics.get("data") or {},
        "metrics_split": metrics.get("final_split") or "validation",
        "temperature": (cfg.get("calibration") or {}).get("temperature"),
    }


def predictor_bundle(layout: Layout) -> Bundle:
    fix = "train it first: python train_correctness_predictor.py"
    for p in (layout.predictor_weights, layout.predictor_config):
        require_file(p, "predictor", fix)
    facts = predictor_facts(layout)
    facts["seed"] = source_of(layout.seed_questions)
    files = [(p, p.name) for p in (layout.predictor_weights, layout.predictor_config, layout.predictor_metrics,
                                   layout.predictor_curve) if p.is_file()]
    if layout.model_order.is_file():
        files.append((layout.model_order, "model_order.csv"))
    return Bundle("predictor", files, facts,
                  stage_configs(layout, [(s, getattr(layout, a)) for s, a in STAGE_FOLDERS[:2]]))


def selection_run_dir(layout: Layout, model: str | None, lamda: float, k: int | None, folder: str | None) -> Path:
    run = Path(folder) if folder else layout.selection_dir(model, lamda, k)
    fix = ("run the selection first (python k_greedy_selection.py --model_name M --lamda L --num_select K) or pass "
           "--selection_dir the folder of a finished run.")
    # report.json is written last by the selection stage: its presence marks a complete run
    require_file(layout.selection_report(run), "selection report", fix)
    for p in (layout.selection_table(run), layout.selection_dataset(run)):
        if not p.exists():
            raise DDCFError(f"The selection run {run} lacks {p.name}.", fix)
    return run


def selection_bundle(layout: Layout, run: Path) -> Bundle:
    files_read = selection.read_selection(run)  # the one reader: table and report.json, validated
    report, sel = files_read.report, files_read.table
    inputs = report.get("inputs") or {}
    stats = {name: {key: block_value(report.get(name) or {}, key) for key in (
        "n", "mean_predicted_correctness", "median_predicted_correctness", "mean_pairwise_similarity",
        "mean_nearest_neighbour_similarity", "composition")} for name in ("selection", "random", "pool")}
    facts = {"model": report.get("model"), "lamda": report.get("lamda"), "k": report.get("k"),
             "max_score": report.get("max_score"), "method": report.get("method"), "n_rows": len(sel),
             "embedding_model": inputs.get("embedding_model"), "stats": stats,
             "chat_template": report.get("chat_template"), "corpus": source_of(layout.corpus_questions),
             "seed": source_of(layout.seed_questions), "predictor": None}
    want = (inputs.get("difficulty_provenance") or {}).get("predictor_weights_sha256")
    if layout.predictor_config.is_file():
        pf = predictor_facts(layout)
        # the predictor in the layout is only described when it is the one that scored this selection
        if want is None or pf["weights_sha256"] == want:
            facts["predictor"] = pf
    configs = stage_configs(layout, [(s, getattr(layout, a)) for s, a in STAGE_FOLDERS] + [("select", run)])
    files = [(layout.selection_table(run), "selection.parquet"), (layout.selection_report(run), "report.json")]
    if layout.selection_plot(run).is_file():
        files.append((layout.selection_plot(run), "report.png"))
    return Bundle("selection", files, facts, configs)


def write_sft_parquet(dataset_dir: Path, dest: Path) -> Path:
    """The saved SFT dataset (``save_to_disk`` folder) as the Parquet shard ``load_dataset(repo)`` reads."""
    from datasets import load_from_disk

    dest.parent.mkdir(parents=True, exist_ok=True)
    load_from_disk(str(dataset_dir)).to_parquet(str(dest))
    return dest
