"""Grading of evaluation completions through the project's verifier, and pass@k per benchmark.

The benchmark's answer type picks the grading style: ``numeric`` -> the verifier's GSM8K style, ``math`` ->
its MATH style (math-verify), ``choice`` -> the ``choice`` answer type (:mod:`ddcf.verify.answer_types`):
:func:`ddcf.verify.grade.grade_completions` picks the type from the ``dataset`` value.  pass@k is the
unbiased estimator of Chen et al. (2021), :func:`ddcf.generate.passrate.pass_at_k`, averaged over questions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ddcf.generate.passrate import pass_at_k, pass_rates
from ddcf.verify.choice import CHAIN as CHOICE
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


def grade_benchmark(gens: pd.DataFrame, model: str, verifier: Verifier, n: int) -> pd.DataFrame:
    """Verdicts (prediction, correct, status) for every sample; each distinct completion graded once."""
    out = verify_generations(gens, model, grader(verifier), n_samples=max(n, 2), cache_path=None,
                             timeout=verifier.timeout, workers=None, progress=False)
    extra = gens[["question_id", "sample", "followup", "finish_reason", "completion_tokens"]]
    return out.merge(extra, on=["question_id", "sample"], how="left", validate="one_to_one")


def metrics(verdicts: pd.DataFrame, ks: list[int]) -> dict:
    """pass@1 and pass@k (each k <= the samples per question) over the questions, in [0, 1]."""
    table = pass_rates(verdicts)
    n_min = int(table["n"].min()) if len(table) else 0
    out = {"n_questions": int(len(table)), "n_samples": n_min}
    for k in sorted({1, *ks}):
        if k <= n_min:
            out[f"pass@{k}"] = float(np.mean([pass_at_k(int(a), int(c), k)
                                              for a, c in zip(table["n"], table["n_correct"])]))
    out["no_answer"] = int((verdicts["status"] == "no_answer").sum())
    out["followups"] = int(verdicts["followup"].sum())
    out["truncated_by_length"] = int((verdicts["finish_reason"] == "length").sum())
    return out
