"""Options of ``ddcf push``, as one dataclass.

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError

ARTIFACTS = ("matrix", "predictor", "selection")
REPO_TYPES = ("dataset", "model")


@dataclass
class PushConfig(StageConfig):
    """Publish an artifact of the work directory to a Hugging Face Hub repo, with a generated README card
    (what it is, target model, lamda, k, embedding model, predictor and its held-out metrics, selection
    statistics, source data and license, how to reproduce it). matrix: the correctness matrix, its split and
    model_order.csv. predictor: the trained predictor (safetensors, config, metrics), so others can score their
    own corpus (`ddcf pull predictor REPO`). selection: the SFT-ready dataset and the selection table. Every
    file is first staged in DDCF_data/push/<artifact>/<repo>/; --dry_run stops there."""

    artifact: str | None = option(None, "What to publish: matrix, predictor or selection (ddcf push matrix ...).",
                                  positional=True, required=True, choices=ARTIFACTS,
                                  metavar="{matrix,predictor,selection}")
    repo_id: str | None = option(None, "Hub repo to publish to (owner/name); created if it does not exist.",
                                 required=True, metavar="OWNER/NAME")
    repo_type: str | None = option(None, "dataset or model (default: model for a predictor, dataset otherwise).",
                                   choices=REPO_TYPES)
    private: bool = option(False, "Create the repo as private (an existing repo keeps its visibility).")
    revision: str | None = option(None, "Branch to commit to (created from main if missing; default: main).",
                                  metavar="BRANCH")
    commit_message: str | None = option(None, "Commit message (default: 'ddcf push <artifact>: <summary>').",
                                        metavar="TEXT")
    dry_run: bool = option(False, "Write the folder and card to DDCF_data/push/... and push nothing.")
    license: str | None = option(None, "License id written in the card (default: that of the source data when "
                                 "it is known, else 'other').", metavar="ID")
    model_name: str | None = option(None, "selection: the target model of the run to publish.", metavar="MODEL")
    lamda: float = option(0.2, "selection: the lamda of the run to publish.", min=0.0, max=1.0)
    num_select: int | None = option(None, "selection: the k of the run to publish.", min=1, metavar="K")
    selection_dir: str | None = option(None, "selection: the run folder to publish instead of --model_name/--lamda/"
                                       "--num_select (e.g. a k_greedy_selection.py --output_dir).", metavar="DIR")

    def check(self) -> None:
        from ddcf.hub.repo import valid_repo_id

        if self.repo_id is not None and not valid_repo_id(str(self.repo_id)):
            raise DDCFError(f"--repo_id {self.repo_id!r} is not a Hub repo id.",
                            "pass owner/name (letters, digits, '-', '_' and '.', no '..' or '--', each part at most "
                            "96 characters), e.g. --repo_id my-name/ddcf-selection.")
        if self.artifact == "selection" and not self.selection_dir and not (self.model_name and self.num_select):
            raise DDCFError("ddcf push selection needs the run to publish.",
                            "pass --model_name MODEL --num_select K (and --lamda if not 0.2), or --selection_dir DIR.")
        if self.artifact != "selection" and (self.selection_dir or self.model_name or self.num_select):
            raise DDCFError(f"--model_name, --num_select and --selection_dir choose a selection run, but the "
                            f"artifact is {self.artifact!r}.", "drop those options, or push 'selection'.")

    @property
    def resolved_repo_type(self) -> str:
        return self.repo_type or ("model" if self.artifact == "predictor" else "dataset")
