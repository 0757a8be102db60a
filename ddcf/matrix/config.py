"""Options of stage 2 (create_training_data.py, ``ddcf matrix``), as one dataclass.

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError


@dataclass
class MatrixConfig(StageConfig):
    """Stage 2: the binary correctness matrix, the model order and a by-question train/validation/test split.
    Reads infer.py's verdict tables in DDCF_data/verdicts/ (or your own table, or the pass-rate tables of
    sampled generation); writes the long-format matrix and its split to
    DDCF_data/correctness/{matrix,train,val,test}.parquet and the model order to DDCF_data/model_order.csv.
    Validation questions pick the predictor's epoch and calibration; test questions are only reported.
    With several datasets the split is stratified: each dataset gives its share to val and test."""

    correctness_table: str | None = option(
        None,
        "Your own correctness data instead of infer.py's verdict tables: one long CSV/Parquet table with "
        "columns model, question_id, question, correct (dataset and gold optional). Missing pairs are fine.",
        metavar="FILE",
    )
    models: list[str] | None = option(None, "Comma-separated subset of models to keep (default: all).",
                                      metavar="MODEL")
    val_ratio: float = option(0.1, "Share of questions held out for validation (epoch selection, calibration, "
                              "tuning), in (0, 1).", min_excl=0.0, max_excl=1.0)
    test_ratio: float = option(0.1, "Share of questions held out for test (reported only, never used to choose "
                               "anything), in [0, 1); 0 = no test split (test.parquet is written empty). "
                               "--val_ratio + --test_ratio must be < 1. Ignored with --folds.",
                               min=0.0, max_excl=1.0)
    folds: int = option(0, "K-fold by question: split the questions into K seeded folds and use fold --fold as "
                        "the test split (val is then --val_ratio of all questions, taken from the other folds; "
                        "--test_ratio is ignored). 0 = off; otherwise >= 2.", min=0, max=1000, metavar="K")
    fold: int = option(0, "Which of the --folds K folds is the test split, in 0..K-1.", min=0, max=999,
                       metavar="I")
    seed: int = option(42, "Seed of the question split (and of the folds).", min=0, max=2**32 - 1)
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

    def check(self) -> None:
        if self.folds == 1:
            raise DDCFError("--folds 1 would make every question a test question.",
                            "pass --folds K with K >= 2 (e.g. 5), or --folds 0 for a --test_ratio split.")
        if self.folds == 0:
            if self.fold:
                raise DDCFError(f"--fold {self.fold} was given without --folds.",
                                "add --folds K (K > --fold), or drop --fold.")
            if self.val_ratio + self.test_ratio >= 1.0:
                raise DDCFError(
                    f"--val_ratio {self.val_ratio} + --test_ratio {self.test_ratio} = "
                    f"{self.val_ratio + self.test_ratio:g} leaves no training questions.",
                    "make --val_ratio + --test_ratio < 1 (e.g. 0.1 and 0.1).")
            return
        if self.fold >= self.folds:
            raise DDCFError(f"--fold {self.fold} is not one of the {self.folds} folds.",
                            f"pass --fold in 0..{self.folds - 1}.")
        if self.val_ratio + 1.0 / self.folds >= 1.0:
            raise DDCFError(
                f"--val_ratio {self.val_ratio} plus the test fold (1/{self.folds} of the questions) leaves no "
                "training questions.", "lower --val_ratio or raise --folds.")
