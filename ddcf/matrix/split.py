"""The model order (model_id) and the seeded by-question train/validation split.

The split is *by question*: every row of a validation question is held out, so validation
measures generalisation to unseen questions, which is what the predictor is used for on the corpus.
"""

from __future__ import annotations

from pathlib import Path

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


def split_questions(question_ids: list[str], val_ratio: float, seed: int) -> set[str]:
    """Seeded split by question id; independent of row order (ids are sorted first)."""
    if not 0.0 < val_ratio < 1.0:
        raise DDCFError(f"--val_ratio {val_ratio} is outside (0, 1).", "use e.g. 0.1 for 10% validation questions.")
    ids = np.array(sorted(set(question_ids)), dtype=object)
    if len(ids) < 2:
        raise DDCFError("The correctness data has fewer than 2 distinct questions; nothing to split.", "add questions.")
    rng = np.random.default_rng(seed)
    n_val = max(1, int(round(len(ids) * val_ratio)))
    n_val = min(n_val, len(ids) - 1)
    return set(ids[rng.permutation(len(ids))[:n_val]].tolist())
