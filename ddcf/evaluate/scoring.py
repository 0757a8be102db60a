"""Grading of evaluation completions through the project's verifier (and the released grader), and pass@k.

``--grader reference`` (default) scores with :mod:`ddcf.verify.reference` (the released DDCF grader, answers
extracted as its evaluation does, last-number fallback included); the strict verifier's pass@1 is kept beside
it (``pass@1_strict``).  ``--grader strict`` scores with the project's verifier alone.

The benchmark's answer type picks the grading style: ``numeric`` -> the verifier's GSM8K style, ``math`` ->
its MATH style (math-verify), ``choice`` -> the ``choice`` answer type (:mod:`ddcf.verify.answer_types`):
:func:`ddcf.verify.grade.grade_completions` picks the type from the ``dataset`` value.  pass@k is the
unbiased estimator of Chen et al. (2021), :func:`ddcf.generate.passrate.pass_at_k`, averaged over questions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ddcf.generate.passrate import pass_at_k, pass_rates
from ddcf.verify.choice_letters import CHAIN as CHOICE
from ddcf.verify.equivalence import Verifier
from ddcf.verify.generated import verify_generations
from ddcf.verify.gold import GSM8K, MATH
from ddcf.verify.grade import grade_completions

#: answer type -> the ``dataset`` value that selects the verifier's grading style
GRADING = {"numeric": GSM8K, "math": MATH, "choice": CHOICE}


def grader(verifier: Verifier):
    """A ``grade_fn`` for :func:`verify_generations`: each row by its answer type, math through ``verifier``."""

    def grade(df: pd.DataFrame, **_kw) -> pd.DataFrame:
        return grade_completions(df, verifier=verifier, progress=False)

    return grade


def grade_benchmark(gens: pd.DataFrame, model: str, verifier: Verifier, n: int, reference=None) -> pd.DataFrame:
    """Verdicts (prediction, correct, status) for every sample; each distinct completion graded once.

    With ``reference`` (a :class:`ddcf.verify.reference.grader.ReferenceGrader`) those columns are the released
    grader's and the strict verifier's verdicts move to ``prediction_strict``/``correct_strict``/``status_strict``.
    Without it, ``correct_strict`` is simply ``correct``.
    """
    out = verify_generations(gens, model, grader(verifier), n_samples=max(n, 2), cache_path=None,
                             timeout=verifier.timeout, workers=None, progress=False)
    extra = gens[["question_id", "sample", "followup", "finish_reason", "completion_tokens"]]
    out = out.merge(extra, on=["question_id", "sample"], how="left", validate="one_to_one")
    out = out.assign(prediction_strict=out["prediction"], correct_strict=out["correct"], status_strict=out["status"])
    if reference is not None:
        preds, verdicts = reference.grade(out["completion"].astype(str).tolist(), out["gold"].astype(str).tolist())
        out["prediction"] = pd.array([p or None for p in preds], dtype="string")
        out["correct"] = [v.correct for v in verdicts]
        out["status"] = [v.status for v in verdicts]
    return out


def metrics(verdicts: pd.DataFrame, ks: list[int]) -> dict:
    """pass@1 and pass@k (each k <= the samples per question) over the questions, in [0, 1]."""
    table = pass_rates(verdicts)
    n_min = int(table["n"].min()) if len(table) else 0
    out = {"n_questions": int(len(table)), "n_samples": n_min}
    for k in sorted({1, *ks}):
        if k <= n_min:
            out[f"pass@{k}"] = float(np.mean([pass_at_k(int(a), int(c), k)
                                              for a, c in zip(table["n"], table["n_correct"])]))
    if "correct_strict" in verdicts.columns:  # the strict verifier's pass@1, reported beside the headline grader's
        strict = pass_rates(verdicts.assign(correct=verdicts["correct_strict"]))
        out["pass@1_strict"] = float(strict["pass_rate"].mean()) if len(strict) else float("nan")
    out["no_answer"] = int((verdicts["status"] == "no_answer").sum())
    out["followups"] = int(verdicts["followup"].sum())
    out["truncated_by_length"] = int((verdicts["finish_reason"] == "length").sum())
    return out
