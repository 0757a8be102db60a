"""A repo option -> a local folder holding the repo's files, and the files of a dataset split in it.

The option accepts, in this order:

1. a local folder laid out like the Hub repo (what ``git clone`` or ``hf download --local-dir`` gives);
2. a Hub id (``owner/name``), fetched with ``huggingface_hub.snapshot_download``.  Downloads land in the
   Hub cache: a download cut half-way resumes from its ``.incomplete`` file on the next run, and when
   ``HF_HUB_OFFLINE=1`` is set a repo already in the cache is used without any network access.

Every failure (no such repo or revision, offline without a cached copy, no network, a gated repo, a
missing file) becomes one :class:`DDCFError` that says what was asked for and what to do.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ddcf.errors import DDCFError, first_line

#: ``owner/name`` or ``name``, as the Hub validates repo ids
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ResolvedRepo:
    """Where a repo's files are on this machine, and what they are."""

    requested: str
    folder: Path
    repo_type: str
    revision: str | None  # the revision asked for (None: the default branch, or a local folder)
    commit: str | None  # the commit the files come from (None for a local folder)
    local: bool

    @property
    def source(self) -> str:
        """One line for provenance metadata and reports."""
        if self.local:
            return f"local folder {self.folder}"
        at = f"@{self.commit[:12]}" if self.commit else ""
        return f"hf://{'datasets/' if self.repo_type == 'dataset' else ''}{self.requested}{at}"

    def provenance(self) -> dict:
        return {"repo_id": self.requested, "repo_type": self.repo_type, "revision": self.revision,
                "commit": self.commit, "local_folder": str(self.folder) if self.local else None}


def valid_repo_id(text: str) -> bool:
    """``owner/name`` or ``name`` as the Hub accepts them: no path steps ('..', a leading '/' or '.'), no '--',
    at most 96 characters per part."""
    return (bool(_REPO_ID.match(text)) and ".." not in text and "--" not in text and not text.endswith((".", ".git"))
            and all(len(part) <= 96 for part in text.split("/")))


def hub_offline() -> bool:
    """True when huggingface_hub will not touch the network (HF_HUB_OFFLINE)."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    return bool(constants.HF_HUB_OFFLINE) or env


def resolve_repo(
    repo_id: str,
    *,
    option: str,
    what: str,
    repo_type: str = "dataset",
    revision: str | None = None,
    allow_patterns: Sequence[str] | None = None,
    progress: bool = True,
) -> ResolvedRepo:
    """The files of ``repo_id`` (the value of ``option``, e.g. ``--seed_repo_id``) on this machine."""
    text = str(repo_id).strip()
    path = Path(text).expanduser()
    if path.is_dir():
        folder = path.resolve()
        if folder == Path(folder.anchor):  # every file on the machine would be a candidate data file
            raise DDCFError(f"{option} {text!r} is the root of the file system, not a folder laid out like the "
                            f"{what}.", f"pass the folder that holds the {what} (a clone or `hf download "
                            "--local-dir` copy of the repo), or a Hub id such as owner/name.")
        return ResolvedRepo(text, folder, repo_type, None, None, True)
    if path.exists():
        raise DDCFError(f"{option} {text} is a file, not a folder laid out like the Hub repo nor a Hub repo id.",
                        f"pass the folder that holds the {what}, or a Hub id such as owner/name.")
    if not valid_repo_id(text):
        raise DDCFError(f"{option} {text!r} is neither an existing local folder nor a Hub repo id (owner/name).",
                        f"pass the {what} as a Hub id such as owner/name, or the path of a folder laid out like it.")
    folder = _snapshot(text, option, what, repo_type, revision, allow_patterns, progress)
    commit = folder.name if _COMMIT.match(folder.name) else None
    return ResolvedRepo(text, folder, repo_type, revision, commit, False)


def _snapshot(repo_id, option, what, repo_type, revision, allow_patterns, progress) -> Path:
    from huggingface_hub import errors as hf_errors
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    asked = f"the {what} {repo_id!r} ({repo_type} repo{f', revision {revision}' if revision else ''})"
    local_hint = (f"or pass {option} the path of a folder laid out like the repo (e.g. made with "
                  f"`hf download {repo_id} --repo-type {repo_type} --local-dir DIR` on a machine with network)")
    if not progress:
        disable_progress_bars()
    try:
        return Path(snapshot_download(repo_id, repo_type=repo_type, revision=revision,
                                      allow_patterns=list(allow_patterns) if allow_patterns else None))
    except hf_errors.GatedRepoError:
        raise DDCFError(f"{asked} is gated: its files need an accepted access request.",
                        f"accept the conditions on https://huggingface.co/{_url_part(repo_type)}{repo_id}, "
                        "log in with `hf auth login` (or set HF_TOKEN), and rerun.") from None
    except hf_errors.RepositoryNotFoundError:
        raise DDCFError(f"The Hub has no {asked}, or it is private to an account you are not logged in as.",
                        f"check the spelling of {option} (and that it is a {repo_type} repo), log in with "
                        f"`hf auth login` if it is private, {local_hint}.") from None
    except hf_errors.RevisionNotFoundError:
        raise DDCFError(f"{asked} exists but has no revision {revision!r}.",
                        "pass --revision a branch, tag or commit of that repo, or drop --revision for the "
                        "default branch.") from None
    except (hf_errors.LocalEntryNotFoundError, hf_errors.OfflineModeIsEnabled) as exc:
        if hub_offline():
            raise DDCFError(
                f"Hub access is switched off (HF_HUB_OFFLINE=1) and {asked} is not in the local Hub cache.",
                f"unset HF_HUB_OFFLINE and rerun with network access once (later runs then work offline), "
                f"{local_hint}.") from None
        raise DDCFError(f"Could not reach the Hub for {asked} and it is not in the local Hub cache "
                        f"({first_line(exc)}).",
                        f"check the network (or HF_ENDPOINT) and rerun: a download cut half-way resumes, "
                        f"{local_hint}.") from None
    except hf_errors.HfHubHTTPError as exc:
        raise DDCFError(f"The Hub refused {asked}: {first_line(exc)}.",
                        "check the repo id, your login (`hf auth login`) and the network, then rerun; a download "
                        "cut half-way resumes.") from None
    except hf_errors.HFValidationError as exc:
        raise DDCFError(f"{option} {repo_id!r} is not a valid Hub repo id ({first_line(exc)}).",
                        f"pass owner/name, {local_hint}.") from None
    except OSError as exc:  # connection resets, a full disk: the cache keeps what arrived
        raise DDCFError(f"Downloading {asked} failed: {type(exc).__name__}: {first_line(exc)}.",
                        "fix the cause (network, disk space under HF_HOME) and rerun the same command: the "
                        "download resumes where it stopped.") from None
    finally:
        if not progress:
            enable_progress_bars()


def _url_part(repo_type: str) -> str:
    return {"dataset": "datasets/", "space": "spaces/"}.get(repo_type, "")


def require_repo_file(repo: ResolvedRepo, name: str, option: str, what: str) -> Path:
    """``name`` inside the repo folder, or an error naming the repo and the files it does have."""
    path = repo.folder / name
    if path.is_file() and path.stat().st_size > 0:
        return path
    # at most a few hundred entries are looked at: the folder may be huge (a mistyped home folder)
    entries = itertools.islice(repo.folder.rglob("*"), 500)
    present = sorted(str(p.relative_to(repo.folder)) for p in entries
                     if p.is_file() and not p.name.startswith("."))[:10]
    state = "is empty" if path.is_file() else "is missing"
    raise DDCFError(
        f"The file {name} of the {what} {repo.source} {state} (the repo holds: {', '.join(present) or 'nothing'}).",
        f"pass {option} a repo (or local folder) laid out like the published one, with {name} at its top level"
        + ("; if the folder is a partial copy, download it again" if repo.local else "") + ".",
    )


def split_files(repo: ResolvedRepo, split: str, option: str, what: str) -> list[Path]:
    """The Parquet files of ``split`` in a ``datasets`` repo, by the Hub's own conventions.

    The default config of a README ``configs:`` block wins; otherwise the file-name conventions of
    ``datasets`` (``data/train-00000-of-00001.parquet``, ``train.parquet``, ``train/...``) decide.
    """
    from datasets.data_files import DataFilesDict, get_data_patterns

    patterns = _readme_patterns(repo.folder)
    if patterns is None:
        try:
            patterns = get_data_patterns(str(repo.folder))
        except Exception:  # noqa: BLE001 - datasets raises EmptyDatasetError and others for an unusable folder
            patterns = {}
    if split not in patterns:
        found = ", ".join(sorted(patterns)) or "none"
        raise DDCFError(f"The {what} {repo.source} has no split {split!r} (splits found: {found}).",
                        f"pass --split one of its splits, or point {option} at the published repo (its data "
                        "is in data/train-*.parquet).")
    _check_patterns(repo, patterns[split], option, what)
    files = [Path(p) for p in DataFilesDict.from_patterns({split: patterns[split]}, base_path=str(repo.folder))[split]]
    for f in files:
        _check_inside(repo, f, option, what)
    other = [p for p in files if p.suffix != ".parquet"]
    if other or not files:
        raise DDCFError(f"The split {split!r} of the {what} {repo.source} is stored as "
                        f"{', '.join(sorted({p.suffix for p in other})) or 'no files'}, not Parquet.",
                        "point at the published repo, or for a Hub repo pass --revision refs/convert/parquet "
                        "(the Hub's Parquet export).")
    return sorted(files)


def _escape_error(repo: ResolvedRepo, name: str, option: str, what: str) -> DDCFError:
    return DDCFError(f"The {what} {repo.source} names the data file {name!r}, which is outside the repo (an "
                     "absolute path, a '..' step or a link out of it); ddcf reads data files only from inside the "
                     "repo.", f"pass {option} a repo whose README.md `configs` name files inside it (e.g. "
                     "data/train-*.parquet); if you trust that file, copy it into the repo folder.")


def _check_patterns(repo: ResolvedRepo, patterns: Sequence[str], option: str, what: str) -> None:
    """A README's data-file pattern is a path relative to the repo with no ".." step."""
    for pattern in patterns:
        text = str(pattern)
        parts = re.split(r"[\\/]+", text)
        if (text.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", text) or "://" in text
                or ".." in parts or os.path.isabs(text)):
            raise _escape_error(repo, text, option, what)


def _check_inside(repo: ResolvedRepo, path: Path, option: str, what: str) -> None:
    """``path`` (a matched data file) is in the repo folder, and so is what it links to.

    A Hub cache snapshot holds links into the repo's own ``blobs/`` folder two levels up; nothing else may be
    reached through a link.
    """
    root = os.path.realpath(repo.folder)
    lexical = os.path.abspath(path)
    allowed = [root] if repo.local else [root, os.path.realpath(repo.folder.parent.parent)]
    real = os.path.realpath(path)
    if not (_within(lexical, os.path.abspath(repo.folder)) or _within(lexical, root)) or not any(
            _within(real, a) for a in allowed):
        raise _escape_error(repo, str(path), option, what)


def _within(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def _readme_patterns(folder: Path) -> dict[str, list[str]] | None:
    """Split -> file patterns of the default config in README.md's YAML header, if it declares one."""
    configs = card_header(folder).get("configs")
    if not isinstance(configs, list) or not configs:
        return None
    default = next((c for c in configs if isinstance(c, dict) and c.get("default")), configs[0])
    data_files = default.get("data_files") if isinstance(default, dict) else None
    if isinstance(data_files, str):
        return {"train": [data_files]}
    out: dict[str, list[str]] = {}
    for entry in data_files or []:
        if isinstance(entry, dict) and "split" in entry:
            paths = entry.get("path")
            out[str(entry["split"])] = [paths] if isinstance(paths, str) else list(paths or [])
    return out or None


def card_license(folder: Path) -> str | None:
    """The ``license:`` of a repo's README card, when it has one."""
    value = card_header(folder).get("license")
    return ", ".join(map(str, value)) if isinstance(value, list) else (str(value) if value else None)


def card_header(folder: Path) -> dict:
    """The YAML header of a repo's README.md card ({} when there is none or it does not parse)."""
    import yaml

    readme = Path(folder) / "README.md"
    if not readme.is_file():
        return {}
    text = readme.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return {}
    try:
        header = yaml.safe_load(text.split("---", 2)[1]) or {}
    except (yaml.YAMLError, IndexError):
        return {}
    return header if isinstance(header, dict) else {}
