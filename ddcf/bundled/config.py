"""Options of the bundled-data install (scripts/install_bundled_data.py, ``ddcf install-bundled``).

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.artifacts.corpus_options import CorpusWriteOptions
from ddcf.config import StageConfig, option


@dataclass
class InstallConfig(StageConfig, CorpusWriteOptions):
    """Stage 0 of the demo: install the bundled real seed and corpus questions into a work directory.
    Seed questions: GSM8K test + MATH Level 5 test (from the bundled ZeroEval outputs) ->
    DDCF_data/seed/questions.parquet. Corpus: GSM8K train + MATH train + AIME 1983-2023, about 16k questions
    with solutions -> DDCF_data/corpus/questions.parquet. Also pre-fills the embedding cache with the shipped
    corpus vectors."""

    no_embedding_cache: bool = option(
        False,
        "Do not pre-fill the embedding cache with the shipped corpus vectors (then stage 3 embeds all ~18k "
        "questions itself: 6-15 minutes on 2 CPU cores).",
    )
