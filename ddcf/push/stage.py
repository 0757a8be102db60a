"""``ddcf push``'s ``run``: stage the artifact and its card in ``Layout.push_dir``, then upload that folder.

The staging folder is replaced as a whole (:func:`ddcf.io.atomic_dir`), so what is uploaded is
exactly one run's files.  ``--dry_run`` stops after staging.  The upload is ``HfApi.create_repo`` (exist_ok)
+ ``create_branch`` for ``--revision`` + ``upload_folder``: one commit.
"""

from __future__ import annotations

import time
from pathlib import Path

from ddcf.errors import DDCFError, first_line
from ddcf.hub.cards import render_card
from ddcf.hub.folder import copy_into
from ddcf.hub.repo import hub_offline
from ddcf.io import atomic_dir, write_text
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.push.config import PushConfig
from ddcf.push.contents import (
    Bundle,
    matrix_bundle,
    predictor_bundle,
    selection_bundle,
    selection_run_dir,
    write_sft_parquet,
)

SFT_SHARD = "data/train-00000-of-00001.parquet"
#: packages whose exceptions mean "the request did not get through" (huggingface_hub uses one of them)
_NETWORK_LIBRARIES = ("httpx", "httpx2", "httpcore", "requests", "urllib3", "h11", "ssl", "socket")


def build_bundle(layout: Layout, config: PushConfig) -> tuple[Bundle, Path | None]:
    if config.artifact == "matrix":
        return matrix_bundle(layout), None
    if config.artifact == "predictor":
        return predictor_bundle(layout), None
    run = selection_run_dir(layout, config.model_name, config.lamda, config.num_select, config.selection_dir)
    return selection_bundle(layout, run), run


def stage_folder(layout: Layout, config: PushConfig) -> tuple[Path, Bundle]:
    """Write the folder that will be uploaded (all of it, card included); returns its path."""
    bundle, run = build_bundle(layout, config)
    target = layout.push_dir(config.artifact, config.repo_id)
    card = render_card(bundle.kind, config.repo_id, config.resolved_repo_type, bundle.facts, bundle.configs,
                       config.license)
    with atomic_dir(target) as tmp:
        for src, name in bundle.files:
            copy_into(src, tmp, name)
        if run is not None:
            write_sft_parquet(layout.selection_dataset(run), tmp / SFT_SHARD)
        for stage, text in bundle.configs.items():
            write_text(text, tmp / f"{stage}.config.yaml")
        write_text(card, tmp / "README.md")
    return target, bundle


def upload(folder: Path, config: PushConfig) -> str:
    """Create the repo (and branch) if needed and upload ``folder`` in one commit; returns the commit URL."""
    from huggingface_hub import HfApi
    from huggingface_hub import errors as hf_errors

    repo_type, repo_id = config.resolved_repo_type, config.repo_id
    if hub_offline():
        raise DDCFError(f"Hub access is switched off (HF_HUB_OFFLINE=1), so {repo_id} cannot be pushed to.",
                        f"unset HF_HUB_OFFLINE and rerun, or inspect the staged folder {folder} with --dry_run.")
    message = config.commit_message or f"ddcf push {config.artifact}"
    api = HfApi()
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=config.private, exist_ok=True)
        if config.revision:
            api.create_branch(repo_id, branch=config.revision, repo_type=repo_type, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type=repo_type,
                                 revision=config.revision, commit_message=message)
    except hf_errors.LocalTokenNotFoundError:
        raise DDCFError(f"Pushing to {repo_id} needs a Hub token and none is configured.",
                        "log in with `hf auth login` (or set HF_TOKEN to a write token) and rerun.") from None
    except hf_errors.HfHubHTTPError as exc:
        raise DDCFError(f"The Hub refused the push to the {repo_type} repo {repo_id}: {first_line(exc)}.",
                        "check that your token has write access to that namespace (`hf auth whoami`) and that "
                        "--repo_type matches an existing repo, then rerun (the staged folder is reused).") from None
    except hf_errors.HFValidationError as exc:
        raise DDCFError(f"The Hub does not accept the repo id or branch of this push ({first_line(exc)}).",
                        "pass --repo_id owner/name and --revision a valid branch name, then rerun.") from None
    except Exception as exc:  # the HTTP library's own errors (no network, DNS, TLS, timeouts)
        if not isinstance(exc, OSError) and type(exc).__module__.split(".")[0] not in _NETWORK_LIBRARIES:
            raise
        raise DDCFError(f"Pushing to {repo_id} failed: {type(exc).__name__}: {first_line(exc)}.",
                        f"check the network (or HF_ENDPOINT) and your login (`hf auth login`), then rerun; the "
                        f"staged folder {folder} is complete.") from None
    return str(getattr(info, "commit_url", "") or getattr(info, "oid", "") or info)


def run(layout: Layout, config: PushConfig) -> Report:
    t0 = time.perf_counter()
    folder, bundle = stage_folder(layout, config)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    lines = [f"ddcf push {config.artifact} -> {config.resolved_repo_type} repo {config.repo_id}",
             f"  staged      {len(files)} files, {size / 1e6:.1f} MB in {folder}",
             f"  card        {folder / 'README.md'}"]
    details = {"folder": folder, "facts": bundle.facts, "pushed": False}
    if config.dry_run:
        lines.append("  dry run     nothing was pushed; rerun without --dry_run to upload this folder")
    else:
        url = upload(folder, config)
        details.update(pushed=True, commit=url)
        lines.append(f"  pushed      {url}")
    return Report(stage="push", summary="\n".join(lines), files=[folder / "README.md"], config_dir=None,
                  details=details, seconds=time.perf_counter() - t0)
