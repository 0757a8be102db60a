"""The model order (model_id) and the seeded by-question train / validation / test split.

The split is *by question*: every row of a held-out question is held out, whichever models answered it
(a sparse matrix is split the same way), so validation and test measure generalisation to unseen
questions, which is what the predictor is used for on the corpus.  Validation picks epochs and
calibration; test is only reported.

How the questions are dealt (:func:`split_by_question`), deterministic for a seed and independent of
row order:

1. the distinct ids are sorted and shuffled once with ``numpy.random.default_rng(seed)``; a question's
   place in that shuffle is its *rank*;
2. strata: with several datasets (the matrix's ``dataset`` column; a question seen under several takes
   the alphabetically first) each dataset is a stratum, else all questions are one; within a stratum
   questions are taken in rank order;
3. ratio split: each stratum of n questions gives ``floor(n * val_ratio + 0.5)`` questions to val, then
   ``floor(n * test_ratio + 0.5)`` to test, the rest to train -- at least one to each requested side when
   the stratum has enough questions to keep one for training, and never all of them, so a small dataset is
   always in val, test and train (its held-out share is then above the ratio).  A side that is still empty
   overall takes one question from the stratum with the most training questions;
4. ``folds=K``: the strata (sorted by name), each in rank order, are dealt round-robin into K folds, so
   fold sizes differ by at most one overall and within each dataset and the K folds partition the
   questions; fold ``fold`` is test, and val is ``val_ratio`` of each stratum's questions taken from its
   other folds (rule 3's rounding and minimum).

With one stratum and ``test_ratio=0`` the validation questions are exactly those of the former
train/validation split at the same seed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ddcf.errors import DDCFError


def order_models(models: list[str], existing_order: Path) -> list[str]:
    """Keep the order of an existing model_order.csv; append new models alphabetically."""
    listed: list[str] = []
    if existing_order.exists() and existing_order.stat().st_size:
        prev = pd.read_csv(existing_order)
        col = "model" if "model" in prev.columns else ("model_name" if "model_name" in prev.columns else None)
        if col is None:
            raise DDCFError(
                f"{existing_order} has no 'model' column (it has {', '.join(prev.columns)}).",
                "give it columns model_id, model, or delete it to let create_training_data.py write a new one.",
            )
        if "model_id" in prev.columns:
            prev = prev.sort_values("model_id", kind="stable")
        listed = [str(m) for m in prev[col].tolist()]
    seen = set(listed)
    return listed + sorted(m for m in set(models) if m not in seen)


SIDES = ("train", "val", "test")


def _share(n: int, ratio: float) -> int:
    """``n * ratio`` rounded half up (Python's round() rounds half to even)."""
    return int(math.floor(n * ratio + 0.5))


def _too_few(what: str, n: int, val_ratio: float, test_ratio: float, folds: int) -> DDCFError:
    if folds:
        return DDCFError(f"With --folds {folds} and --val_ratio {val_ratio} the {n} distinct question(s) of the "
                         f"correctness data {what}.",
                         "add questions, or choose --folds and --val_ratio so that the questions outside the test "
                         "fold fill val and train (more folds make the test fold smaller; at most one fold per "
                         "question), or lower --val_ratio.")
    return DDCFError(
        f"With --val_ratio {val_ratio} and --test_ratio {test_ratio} the {n} distinct question(s) of the correctness "
        f"data {what}.",
        "add questions (train, val and test need at least 3; train and val at least 2), or pass --test_ratio 0 "
        "for no test split.")


def split_by_question(
    question_ids: Iterable[str],
    val_ratio: float,
    test_ratio: float = 0.0,
    seed: int = 42,
    strata: Mapping[str, str] | None = None,
    folds: int = 0,
    fold: int = 0,
) -> dict[str, str]:
    """Each distinct question id -> ``"train"``, ``"val"`` or ``"test"`` (rules in the module docstring).

    ``strata`` maps a question id to its dataset (ids it lacks are one stratum of their own); the split is
    stratified when it names more than one.  ``folds=0`` splits by ``test_ratio``; ``folds=K`` makes fold
    ``fold`` the test side and ignores ``test_ratio``.  The ranges of the ratios are
    :class:`~ddcf.matrix.config.MatrixConfig`'s; here only what depends on the questions is checked.
    """
    if not 0.0 < val_ratio < 1.0:
        raise DDCFError(f"--val_ratio {val_ratio} is outside (0, 1).", "use e.g. 0.1 for 10% validation questions.")
    ids = sorted(set(question_ids))
    n = len(ids)
    want_test = folds > 0 or test_ratio > 0
    n_sides = 3 if want_test else 2
    if n < n_sides:
        raise _too_few("cannot fill train, val and test" if want_test else "cannot fill train and val",
                       n, val_ratio, test_ratio, folds)
    if folds > n:
        raise _too_few(f"cannot fill {folds} folds", n, val_ratio, test_ratio, folds)
    perm = np.random.default_rng(seed).permutation(n)
    ranked = [ids[j] for j in perm]
    groups: dict[str, list[str]] = {}
    for q in ranked:  # insertion in rank order keeps every group in rank order
        groups.setdefault(str(strata.get(q, "")) if strata else "", []).append(q)
    names = sorted(groups)
    side = dict.fromkeys(ids, "train")
    if folds:
        dealt = [q for name in names for q in groups[name]]
        for i, q in enumerate(dealt):
            if i % folds == fold:
                side[q] = "test"
    for name in names:
        g = groups[name]
        free = [q for q in g if side[q] == "train"]
        nv = _share(len(g), val_ratio)
        nt = 0 if folds else _share(len(g), test_ratio)
        asked = 1 + (test_ratio > 0 and not folds)
        if len(free) > asked:  # enough to give every requested side one question and keep one for training
            nv = max(nv, 1)
            nt = max(nt, 1) if asked == 2 else nt
        while nv + nt > max(len(free) - 1, 0):  # never the stratum's last training question
            if nt > nv:
                nt -= 1
            else:
                nv -= 1
        for q in free[:nv]:
            side[q] = "val"
        for q in free[nv:nv + nt]:
            side[q] = "test"
    for wanted in ("val", "test") if want_test else ("val",):
        if any(v == wanted for v in side.values()):
            continue
        # The stratum with the most training questions gives its first one (ties: the first name).
        train_of = {name: [q for q in groups[name] if side[q] == "train"] for name in names}
        donor = max(names, key=lambda name: len(train_of[name]))
        if sum(map(len, train_of.values())) < 2:
            raise _too_few(f"leave the {wanted} side empty", n, val_ratio, test_ratio, folds)
        side[train_of[donor][0]] = wanted
    if not any(v == "train" for v in side.values()):
        raise _too_few("leave no training question", n, val_ratio, test_ratio, folds)
    return side


def split_questions(question_ids: list[str], val_ratio: float, seed: int) -> set[str]:
    """The validation ids of a train/validation split (no test side, no strata); see :func:`split_by_question`."""
    return {q for q, s in split_by_question(question_ids, val_ratio, 0.0, seed).items() if s == "val"}
