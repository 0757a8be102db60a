"""Stage 2's ``run``: build the matrix and describe it in one screen."""

from __future__ import annotations

import time

from ddcf.layout import Layout
from ddcf.matrix.build import MatrixResult, build_matrix
from ddcf.matrix.config import MatrixConfig
from ddcf.pipeline import Report


def run(layout: Layout, config: MatrixConfig) -> Report:
    t0 = time.perf_counter()
    res = build_matrix(
        layout,
        correctness_table=config.correctness_table,
        models=config.models or None,
        val_ratio=config.val_ratio,
        test_ratio=config.test_ratio,
        folds=config.folds,
        fold=config.fold,
        seed=config.seed,
        pass_threshold=config.pass_threshold,
        from_pass_rates=config.from_pass_rates,
    )
    return Report(
        stage="matrix",
        summary=summary(res),
        files=list(res.files),
        config_dir=layout.correctness_dir,
        details={"result": res, "n_models": int(res.matrix["model"].nunique()),
                 "n_questions": int(res.matrix["question_id"].nunique()),
                 "n_train_questions": int(res.n_train_questions), "n_val_questions": int(res.n_val_questions),
                 "n_test_questions": int(res.n_test_questions), "split": res.split},
        seconds=time.perf_counter() - t0,
    )


def split_text(split: dict) -> str:
    """How the questions were split, in words (from the options recorded in the Parquet metadata)."""
    how = (f"test = fold {split.get('fold')} of {split.get('folds')}" if split.get("folds") else
           f"test_ratio {split.get('test_ratio')}" if split.get("test_ratio") else
           "no test split (--test_ratio 0): test.parquet is empty")
    strat = ", stratified by dataset" if split.get("stratified_by") else ""
    return f"by question, val_ratio {split.get('val_ratio')}, {how}, seed {split.get('seed')}{strat}"


def summary(res: MatrixResult) -> str:
    m = res.matrix
    n_models = m["model"].nunique()
    n_q = m["question_id"].nunique()
    lines = [
        "Stage 2 - correctness matrix",
        f"  source            {res.source}",
        f"  models            {n_models}",
        f"  questions         {n_q}  (train {res.n_train_questions}, val {res.n_val_questions}, "
        f"test {res.n_test_questions})",
        f"  split             {split_text(res.split or {})}",
        f"  observed pairs    {len(m)}  ({len(m) / max(1, n_models * n_q):.1%} of the full matrix)",
        f"  overall accuracy  {m['correct'].mean():.3f}",
    ]
    for ds, g in m.groupby("dataset"):
        lines.append(f"    {ds:14s}  {g['question_id'].nunique():6d} questions  accuracy {g['correct'].mean():.3f}")
    empty = res.model_order.loc[res.model_order["n_answered"] == 0, "model"].tolist()
    if empty:
        lines.append(f"  note: {len(empty)} model(s) listed in model_order.csv have no verdicts yet: "
                     f"{', '.join(empty[:5])}{' ...' if len(empty) > 5 else ''}")
    return "\n".join(lines)
