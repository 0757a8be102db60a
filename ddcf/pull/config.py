"""Options of ``ddcf pull``, as one dataclass.

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option


@dataclass
class PullConfig(StageConfig):
    """Fetch a published correctness predictor (e.g. one made with `ddcf push predictor`) into
    DDCF_data/predictor/, so fullcorpus_difficulty_estimation.py can score your corpus without training.
    Refused when it was made with another embedding model or dimension than the seed/corpus embeddings
    already in the work directory."""

    artifact: str | None = option(None, "What to fetch: predictor.", positional=True, required=True,
                                  choices=("predictor",), metavar="predictor")
    repo_id: str | None = option(None, "The Hub repo (owner/name) or a local folder holding model.safetensors and "
                                 "config.json, after 'predictor'.", positional=True, required=True,
                                 metavar="REPO")
    repo_type: str = option("model", "Hub repo type of REPO.", choices=("model", "dataset"))
    revision: str | None = option(None, "Branch, tag or commit of REPO (default: main).", metavar="REV")
    overwrite: bool = option(False, "Replace a different predictor already in DDCF_data/predictor/.")
