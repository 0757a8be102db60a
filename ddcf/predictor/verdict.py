"""Is the trained predictor worth more than a trivial baseline?  The check, its stored form and its warning.

A predictor that a baseline beats on both the per-model AUC (does it rank one model's questions from easy to
hard?) and the log loss (are its probabilities right?) adds nothing a selection can use: difficulty and
selection would then rank the corpus by noise.  Stage 4 stores the verdict in metrics.json (``beaten_by``
and ``baseline_check``) so that ``ddcf summary``, the selection report and anything downstream read it
without recomputing; for a metrics.json written before the check existed, :func:`check_from_metrics`
recomputes it from the stored figures.

Pure Python on purpose: ``ddcf summary`` imports it and must not pull in torch.
"""

from __future__ import annotations

import math


def _num(x) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def predictor_key(results: dict) -> str | None:
    """The predictor's row of a results table (``predictor (<arch>)``), or None."""
    return next((k for k in results if isinstance(k, str) and k.startswith("predictor (")), None)


def beaten_by(results: dict[str, dict], predictor: str) -> list[dict]:
    """Baselines with a higher mean per-model AUC AND a lower log loss than ``predictor``, best first.

    A figure that is undefined (NaN, e.g. an AUC over one-class rows) on either side decides nothing: no
    verdict is better than a wrong one.
    """
    mine = results.get(predictor) if isinstance(results, dict) else None
    if not isinstance(mine, dict):
        return []
    auc, loss = _num(mine.get("mean_model_auc")), _num(mine.get("log_loss"))
    if auc is None or loss is None:
        return []
    out = []
    for name, r in results.items():
        if name == predictor or not isinstance(r, dict):
            continue
        b_auc, b_loss = _num(r.get("mean_model_auc")), _num(r.get("log_loss"))
        if b_auc is not None and b_loss is not None and b_auc > auc and b_loss < loss:
            out.append(dict(baseline=name, mean_model_auc=b_auc, log_loss=b_loss))
    return sorted(out, key=lambda b: (b["log_loss"], -b["mean_model_auc"], b["baseline"]))


def baseline_check(results: dict[str, dict], predictor: str, split: str, matrix: dict, arch: str | None,
                   embedding_model: str | None = None) -> dict:
    """The verdict as stored in metrics.json (``baseline_check``; its ``beaten_by`` is also stored top-level).

    ``matrix``: ``{"models", "questions", "pairs"}`` of the correctness matrix the predictor learned from.
    """
    mine = results.get(predictor) or {}
    return dict(split=split, predictor=predictor, arch=arch, embedding_model=embedding_model,
                mean_model_auc=_num(mine.get("mean_model_auc")), log_loss=_num(mine.get("log_loss")),
                matrix=matrix, beaten_by=beaten_by(results, predictor))


def check_from_metrics(met: dict) -> dict | None:
    """The stored verdict of a metrics.json, or one recomputed from its figures (older files); None if neither."""
    stored = met.get("baseline_check")
    if isinstance(stored, dict) and isinstance(stored.get("beaten_by"), list):
        return stored
    final = met.get("final")
    if not isinstance(final, dict):
        return None
    key = predictor_key(final)
    if key is None:
        return None
    data = met.get("data") if isinstance(met.get("data"), dict) else {}
    n = {k: data.get(k) for k in ("n_train", "n_val", "n_test", "n_train_questions", "n_val_questions",
                                   "n_test_questions")}
    ok = all(isinstance(v, int) for v in n.values())
    matrix = dict(models=len(data.get("train_rows_per_model") or {}) or None,
                  questions=n["n_train_questions"] + n["n_val_questions"] + n["n_test_questions"] if ok else None,
                  pairs=n["n_train"] + n["n_val"] + n["n_test"] if ok else None)
    split = "test" if met.get("final_split") == "test" else "validation"
    return baseline_check(final, key, split, matrix, met.get("arch"))


def _size(matrix: dict) -> str:
    def c(v):
        return f"{v:,}" if isinstance(v, int) else "?"

    return (f"{c(matrix.get('models'))} models x {c(matrix.get('questions'))} questions, "
            f"{c(matrix.get('pairs'))} observed pairs")


def warning(check: dict | None) -> str | None:
    """The warning for a verdict that a baseline beats the predictor, else None."""
    if not isinstance(check, dict) or not check.get("beaten_by"):
        return None
    best = check["beaten_by"][0]
    others = [b["baseline"] for b in check["beaten_by"][1:]]
    arch = check.get("arch")
    other_arch = {"factor": "paper", "paper": "factor"}.get(arch or "")
    emb = check.get("embedding_model")
    return (
        f"a trivial baseline beats the predictor: on the {check.get('split', 'test')} questions "
        f"'{best['baseline']}' has a mean per-model AUC of {best['mean_model_auc']:.3f} and a log loss of "
        f"{best['log_loss']:.3f}, against the predictor's {_fmt(check.get('mean_model_auc'))} and "
        f"{_fmt(check.get('log_loss'))}"
        + (f" (also beaten by: {', '.join(others)})" if others else "")
        + f". Matrix: {_size(check.get('matrix') or {})}. Difficulty and selection from this predictor rank the "
        "corpus no better than that baseline would. Try: more seed questions or more models (a larger matrix); "
        f"a stronger embedding model{f' than {emb}' if emb else ''} (get_question_embeddings.py); "
        + (f"--arch {other_arch}; " if other_arch else "another --arch; ")
        + "and check the labels (a verifier that marks answers wrongly, or one model's verdicts under another's "
        "name, leaves nothing to learn beyond the base rates)."
    )


def _fmt(x) -> str:
    v = _num(x)
    return "n/a" if v is None else f"{v:.3f}"
