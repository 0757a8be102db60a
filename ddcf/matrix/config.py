"""Options of stage 2 (create_training_data.py, ``ddcf matrix``), as one dataclass.

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option


@dataclass
class MatrixConfig(StageConfig):
    """Stage 2: the binary correctness matrix, the model order and a by-question train/validation split.
    Reads infer.py's verdict tables in DDCF_data/verdicts/ (or your own table, or the pass-rate tables of
    sampled generation); writes the long-format matrix and its split to
    DDCF_data/correctness/{matrix,train,val}.parquet and the model order to DDCF_data/model_order.csv."""

    correctness_table: str | None = option(
        None,
        "Your own correctness data instead of infer.py's verdict tables: one long CSV/Parquet table with "
        "columns model, question_id, question, correct (dataset and gold optional). Missing pairs are fine.",
        metavar="FILE",
    )
    models: list[str] | None = option(None, "Comma-separated subset of models to keep (default: all).",
                                      metavar="MODEL")
    val_ratio: float = option(0.1, "Share of questions held out for validation, in (0, 1).",
                              min_excl=0.0, max_excl=1.0)
    seed: int = option(42, "Seed of the question split.", min=0, max=2**32 - 1)
    pass_threshold: float = option(
        0.5,
        "A (model, question) with several verdicts (n samples) counts as correct when its pass rate >= this; "
        "in [0, 1].",
        min=0.0,
        max=1.0,
    )
    from_pass_rates: bool = option(
        False,
        "Build the matrix from the *.passrate.parquet tables of sampled generation (infer.py --n K), "
        "thresholded with --pass_threshold.",
    )
