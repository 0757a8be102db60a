"""``ddcf pull``'s ``run``: a published predictor -> ``Layout.predictor_dir``, after every check passes.

The predictor is loaded from where it arrived (format, architecture, and the weights' SHA-256 recorded in
its config), then compared with the seed and corpus embeddings of the work directory by the same check
stage 5 runs (:func:`ddcf.difficulty.compat.check_embedding_compat`): another embedding model or dimension
is refused before anything is copied.  Every file is checked first (:mod:`ddcf.pull.checks`: JSON types,
weight dtypes, shapes against the config without allocating, finite values, a positive temperature, a readable
metrics.json); only then are files copied byte for byte (the difficulty stage records their hashes), weights
first and config last, as the predictor stage writes them.  An optional file the repo lacks is removed from the
predictor folder, so it never describes the previous predictor.
"""

from __future__ import annotations

import shlex
import shutil
import time

from ddcf.artifacts.matrix import read_model_order
from ddcf.difficulty.compat import check_embedding_compat
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.hub.repo import require_repo_file, resolve_repo
from ddcf.io import atomic_path, manifest_path, read_json
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.predictor.store import load_predictor
from ddcf.pull.checks import check_config, check_metrics, check_shapes, check_values, weights_header
from ddcf.pull.config import PullConfig

WHAT = "published predictor"
OPTIONAL = ("metrics.json", "training_curve.png")


def check_against_embeddings(layout: Layout, pred, repo_source: str) -> tuple[list[str], list[str]]:
    """Refuse a predictor the layout's embeddings cannot feed; return (tables checked, warnings)."""
    checked, warnings = [], []
    emb = pred.embedding
    for name, npy in (("seed", layout.seed_embeddings), ("corpus", layout.corpus_embeddings)):
        if not manifest_path(npy).is_file():
            continue
        manifest = read_json(manifest_path(npy), f"{name} embeddings manifest", "rerun get_question_embeddings.py.")
        try:
            warnings += check_embedding_compat(pred, manifest, int(manifest.get("dim", -1)), npy)
        except InputMismatchError as exc:
            raise InputMismatchError(
                f"Refusing to pull the predictor {repo_source}: it was made with {emb.get('embedding_model')} "
                f"embeddings (dim {emb.get('dim')}), but the {name} embeddings of this work directory ({npy}) come "
                f"from {manifest.get('embedding_model')} (dim {manifest.get('dim')}). {exc.what}",
                f"embed your questions with the predictor's model (python get_question_embeddings.py "
                f"--embedding_model {emb.get('embedding_model')} --overwrite) and pull again, or pull a predictor "
                f"made with {manifest.get('embedding_model')}.") from None
        checked.append(name)
    if not checked:
        warnings.append(f"this work directory has no embeddings yet: embed the corpus with the predictor's model "
                        f"(python get_question_embeddings.py --embedding_model {emb.get('embedding_model')}) before "
                        "fullcorpus_difficulty_estimation.py.")
    return checked, warnings


def _num(value) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"


def run(layout: Layout, config: PullConfig) -> Report:
    t0 = time.perf_counter()
    repo = resolve_repo(config.repo_id, option="REPO", what=WHAT, repo_type=config.repo_type,
                        revision=config.revision, allow_patterns=["config.json", "model.safetensors", *OPTIONAL,
                                                                  "README.md", "model_order.csv"],
                        progress=config.progress)
    cfg = require_repo_file(repo, "config.json", "REPO", WHAT)
    weights = require_repo_file(repo, "model.safetensors", "REPO", WHAT)
    # everything is checked before anything is installed: a bad file leaves the work directory as it was
    config_data = check_config(cfg, weights, repo.source)
    check_shapes(config_data, weights_header(weights, repo.source), cfg, repo.source)
    pred = load_predictor(cfg, weights)  # format, architecture and the weights' hash
    check_values(pred.model, repo.source)
    metrics_src = repo.folder / "metrics.json"
    metrics_file = check_metrics(metrics_src, repo.source) if metrics_src.is_file() else {}
    checked, warnings = check_against_embeddings(layout, pred, repo.source)
    if layout.predictor_config.is_file() and not config.overwrite:
        current = read_json(layout.predictor_config, "predictor config", "delete it or pass --overwrite.")
        if current.get("weights_sha256") != pred.config["weights_sha256"]:
            raise DDCFError(f"{layout.predictor_dir} already holds another predictor (made by "
                            f"{current.get('created_by', 'an unknown run')}).",
                            "pass --overwrite to replace it, or pull into another --workdir.")
    files = []
    for src, dest in [(weights, layout.predictor_weights)] + [
            (repo.folder / n, layout.predictor_dir / n) for n in OPTIONAL] + [
            (cfg, layout.predictor_config)]:  # config last: a config always has its weights
        if not src.is_file():
            dest.unlink(missing_ok=True)  # the previous predictor's file would describe the wrong predictor
            continue
        with atomic_path(dest, suffix=dest.suffix) as tmp:
            shutil.copyfile(src, tmp)
        files.append(dest)
    if layout.model_order.is_file():
        if read_model_order(layout, "rerun create_training_data.py.") != pred.models:
            warnings.append(f"{layout.model_order} lists other models than the pulled predictor; "
                            "fullcorpus_difficulty_estimation.py uses the predictor's own list.")
    emb, final = pred.embedding, metrics_file.get("final", {})
    split_name = "test" if metrics_file.get("final_split") == "test" else "held-out"
    paper = next((v for k, v in final.items() if k.startswith("predictor (")), {})
    lines = [f"ddcf pull predictor {repo.source} -> {layout.predictor_dir}",
             f"  embedding   {emb.get('embedding_model')} (dim {emb.get('dim')})"
             + (f"; matches the {' and '.join(checked)} embeddings here" if checked else ""),
             f"  models      {len(pred.models)}: {', '.join(pred.models[:5])}{' ...' if len(pred.models) > 5 else ''}"]
    if paper:
        lines.append(f"  {split_name:<11s} accuracy {_num(paper.get('accuracy'))}, AUC {_num(paper.get('auc'))}")
    lines.append(f"  next: python fullcorpus_difficulty_estimation.py{layout.workdir_option} --model_name "
                 f"{shlex.quote(pred.models[0])}")
    return Report(stage="pull", summary="\n".join(lines), files=files, warnings=warnings,
                  config_dir=layout.predictor_dir, seconds=time.perf_counter() - t0,
                  details={"source": repo.source, "checked": checked, "models": pred.models})
