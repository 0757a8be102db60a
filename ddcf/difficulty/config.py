"""Options of the difficulty estimation (stage 5), as one dataclass.  Imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import option
from ddcf.errors import DDCFError
from ddcf.executors.options import ExecutorOptions
from ddcf.runtime import check_device


@dataclass
class DifficultyConfig(ExecutorOptions):
    """Score every corpus question with the trained predictor (stage 5; lower = harder for the model).

    The score is the predicted correctness P(correct) of the target model on each question. Reads
    DDCF_data/predictor/ and DDCF_data/embeddings/corpus.npy; writes factorized_data/<model>.parquet
    (question_id, predicted_correctness), a histogram PNG per model and difficulty.config.yaml (the options
    of the run)."""

    model_name: str | None = option(
        None, "Target model, exactly as in DDCF_data/model_order.csv (or pass --all_models).", metavar="NAME"
    )
    all_models: bool = option(False, "Score the corpus for every model the predictor knows (instead of --model_name).")
    save_factorized_embeddings: bool = option(
        False,
        "Also write the factorized question embeddings (question-encoder output) to "
        "factorized_data/question_embeddings.npy.",
    )
    chunk_size: int = option(32768, "Corpus questions per forward pass.", min=1, max=1 << 24)
    device: str = option("auto", "auto (CUDA when available), cpu, or cuda[:N].")
    no_plot: bool = option(False, "Do not write histogram PNGs.")

    def check(self) -> None:
        if self.all_models and self.model_name:
            raise DDCFError("Both --model_name and --all_models were given.", "pass one of them.")
        if not self.all_models and not self.model_name:
            raise DDCFError("No model to score was named.", "pass --model_name NAME or --all_models.")
        check_device(self.device)
