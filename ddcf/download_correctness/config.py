"""Options of stage 0' (download_binary_correctness_from_hf.py, ``ddcf download-correctness``).

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.hub.schemas import CORRECTNESS_REPO


@dataclass
class DownloadCorrectnessConfig(StageConfig):
    """Stage 0': download the paper's published binary correctness of each model on the seed questions and
    write it as the layout's per-model verdict tables (DDCF_data/verdicts/<model>.parquet, what infer.py
    writes) plus DDCF_data/model_order.csv, so create_training_data.py runs on it unchanged. Needs the seed
    questions first (download_ddcf_math_from_hf.py --which seed). Model names are restored from the published
    'Qwen__Qwen2.5-7B' form to 'Qwen/Qwen2.5-7B'."""

    repo_id: str = option(CORRECTNESS_REPO, "Binary correctness: a Hub dataset repo (columns model, prompt_id, "
                          "prompt, completion, gold, prediction, check, len) or a local folder laid out like it.",
                          metavar="REPO|DIR")
    models: list[str] | None = option(None, "Only these models (comma-separated; 'Qwen/Qwen2.5-7B' or the "
                                      "published 'Qwen__Qwen2.5-7B'); default: every model in the repo.",
                                      metavar="MODEL")
    split: str = option("train", "Split of the dataset repo.")
    revision: str | None = option(None, "Branch, tag or commit of the Hub repo (default: its main branch); "
                                  "ignored for a local folder.", metavar="REV")
