"""Options of stage 0 (download_ddcf_math_from_hf.py, ``ddcf download``), as one dataclass.

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.artifacts.corpus_options import CorpusWriteOptions
from ddcf.config import StageConfig, option
from ddcf.hub.schemas import FULLCORPUS_FILE, FULLCORPUS_REPO, SEED_REPO

WHICH = ("seed", "fullcorpus", "both")


@dataclass
class DownloadConfig(StageConfig, CorpusWriteOptions):
    """Stage 0: download the paper's published seed questions and/or full corpus from the Hugging Face Hub
    and write them as the layout's question tables (DDCF_data/seed/questions.parquet,
    DDCF_data/corpus/questions.parquet), validated, so every later stage runs on them unchanged. A repo option
    also takes a local folder laid out like the repo, and with HF_HUB_OFFLINE=1 a repo already in the Hub
    cache is used offline. An interrupted download resumes when rerun."""

    # The published corpus is taken as published (the released pipeline selects from every published row), so
    # here the corpus writer's option defaults to on; the bundled install cleans its own corpus.
    keep_duplicates: bool = option(
        True,
        "Keep the published corpus as published, repeated question texts included (the released pipeline "
        "selects from every published row); --no_keep_duplicates drops texts (whitespace normalised) that repeat "
        "an earlier one's, the first id of each kept. The count of repeats is in the stage summary and the "
        "corpus file's provenance either way.",
    )
    which: str = option("both", "What to download: seed (19,470 questions), fullcorpus (189,257 questions with "
                        "DeepSeek-R1 solutions, a CSV of several GB) or both.", choices=WHICH)
    seed_repo_id: str = option(SEED_REPO, "Seed questions: a Hub dataset repo (split --split; columns prompt_id, "
                               "prompt, gold, type) or a local folder laid out like it.", metavar="REPO|DIR")
    fullcorpus_repo_id: str = option(FULLCORPUS_REPO, f"Full corpus: a Hub dataset repo holding {FULLCORPUS_FILE} "
                                     "(columns prompt_id, prompt, response, gold, subject, len) or a local folder "
                                     "laid out like it.", metavar="REPO|DIR")
    revision: str | None = option(None, "Branch, tag or commit of the Hub repos (default: their main branch); "
                                  "ignored for local folders.", metavar="REV")
    split: str = option("train", "Split of the seed dataset repo.")
