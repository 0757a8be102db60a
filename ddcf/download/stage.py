"""Stage 0's ``run``: the published seed and/or corpus repos -> the layout's question tables.

Writes ``Layout.seed_questions`` (question_id, question, gold, dataset, subject, prompt_id) and
``Layout.corpus_questions`` (question_id, question, response, answer, dataset, subject, len, prompt_id),
each atomically with its provenance (repo, revision, commit, license) in the Parquet metadata.  The
column mapping lives in :mod:`ddcf.hub.schemas`.
"""

from __future__ import annotations

import time

import pandas as pd

from ddcf.artifacts.corpus import DuplicateTexts
from ddcf.artifacts.seed import write_seed
from ddcf.download.config import DownloadConfig
from ddcf.errors import DDCFError
from ddcf.hub.corpus_csv import convert_corpus_csv
from ddcf.hub.leftovers import clean_leftovers
from ddcf.hub.repo import ResolvedRepo, card_license, require_repo_file, resolve_repo, split_files
from ddcf.hub.schemas import (
    EXPECTED_ROWS,
    FULLCORPUS_FILE,
    PUBLISHED_SEED_COLUMNS,
    exact_prompt_ids,
    seed_from_published,
)
from ddcf.hub.tables import read_columns
from ddcf.io import blank_text
from ddcf.layout import Layout
from ddcf.pipeline import Report

SCRIPT = "download_ddcf_math_from_hf.py"


def _provenance(repo: ResolvedRepo, **extra) -> dict:
    return {"produced_by": SCRIPT, "source": repo.source, **repo.provenance(),
            "license": card_license(repo.folder), **extra}


def expected_rows_warning(repo: ResolvedRepo, n: int, what: str) -> list[str]:
    """A count that differs from the published one is reported: a later revision may fix rows on purpose."""
    want = EXPECTED_ROWS.get(repo.requested)
    if want is None or want == n or repo.local:
        return []
    return [f"the {what} {repo.source} has {n:,} rows; the published one has {want:,} (another revision?)."]


def download_seed(layout: Layout, config: DownloadConfig) -> tuple[dict, list[str]]:
    what = "seed question repo"
    repo = resolve_repo(config.seed_repo_id, option="--seed_repo_id", what=what, revision=config.revision,
                        progress=config.progress)
    fix = (f"pass --seed_repo_id the published seed repo or a folder laid out like it (split {config.split!r} in "
           f"data/{config.split}-*.parquet, columns {', '.join(PUBLISHED_SEED_COLUMNS)}).")
    files = split_files(repo, config.split, "--seed_repo_id", what)
    pub = read_columns(files, PUBLISHED_SEED_COLUMNS, what, fix)
    where = f"the {what} {repo.source} (split {config.split})"
    pub = check_seed(pub, where, fix)
    seed = seed_from_published(pub)
    warnings = expected_rows_warning(repo, len(seed), what)
    empty_gold = int(blank_text(seed["gold"]).sum())
    if empty_gold:
        warnings.append(f"{empty_gold:,} seed question(s) of {where} have an empty gold answer: every model "
                        "will be graded wrong on them.")
    write_seed(layout, seed, provenance=_provenance(repo, split=config.split, rows=len(seed)))
    counts = seed.groupby("dataset").size().to_dict()
    return {"rows": len(seed), "by_dataset": {k: int(v) for k, v in counts.items()}, "source": repo.source,
            "path": layout.seed_questions}, warnings


def check_seed(pub: pd.DataFrame, where: str, fix: str) -> pd.DataFrame:
    """Ids present, exactly integer and unique; every question has text and a type; returns ``pub`` with its ids
    as exact int64."""
    if len(pub) == 0:
        raise DDCFError(f"{where} has no rows.", fix)
    ids = exact_prompt_ids(pub["prompt_id"], where, fix)
    pub = pub.assign(prompt_id=ids.to_numpy())
    dup = ids.duplicated()
    if dup.any():
        raise DDCFError(f"{where} repeats {int(dup.sum()):,} prompt_id value(s) (e.g. "
                        f"{', '.join(map(str, ids[dup].astype(int).unique()[:3]))}).", fix)
    empty = blank_text(pub["prompt"])
    if empty.any():
        raise DDCFError(f"{int(empty.sum()):,} row(s) of {where} have an empty prompt (e.g. prompt_id "
                        f"{', '.join(map(str, ids[empty].astype(int)[:3]))}).", fix)
    # the type decides the grader (GSM8K numbers vs MATH expressions): a missing one must not default to MATH
    untyped = blank_text(pub["type"])
    if untyped.any():
        raise DDCFError(f"{int(untyped.sum()):,} row(s) of {where} have no type (e.g. prompt_id "
                        f"{', '.join(map(str, ids[untyped][:3]))}), so it is unknown whether they are GSM8K or MATH "
                        "questions (which are graded differently).",
                        "fill in 'type' (GSM8K, or the MATH subject) for every row, or use the published repo.")
    return pub


def download_corpus(layout: Layout, config: DownloadConfig) -> tuple[dict, list[str]]:
    what = "full-corpus repo"
    repo = resolve_repo(config.fullcorpus_repo_id, option="--fullcorpus_repo_id", what=what,
                        revision=config.revision, allow_patterns=[FULLCORPUS_FILE, "README.md"],
                        progress=config.progress)
    csv = require_repo_file(repo, FULLCORPUS_FILE, "--fullcorpus_repo_id", what)
    fix = (f"download {FULLCORPUS_FILE} again (delete the partial copy if it is a local folder), or pass "
           "--fullcorpus_repo_id the published corpus repo.")
    dedupe = DuplicateTexts(keep=config.keep_duplicates)
    stats = convert_corpus_csv(csv, layout.corpus_questions, what=f"{what} file", fix=fix,
                               provenance=_provenance(repo, file=FULLCORPUS_FILE), progress=config.progress,
                               dedupe=dedupe)
    warnings = expected_rows_warning(repo, stats.rows, what)
    if stats.empty_responses:
        warnings.append(f"{stats.empty_responses:,} corpus question(s) have an empty response: they cannot "
                        "become SFT examples (k_greedy_selection.py refuses a pool that contains them).")
    return {"rows": stats.rows - dedupe.dropped, "published_rows": stats.rows, **dedupe.record(),
            "duplicates": dedupe.summary(), "subjects": stats.subjects, "csv_bytes": csv.stat().st_size,
            "parquet_bytes": layout.corpus_questions.stat().st_size, "source": repo.source,
            "path": layout.corpus_questions}, warnings


def _size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def run(layout: Layout, config: DownloadConfig) -> Report:
    t0 = time.perf_counter()
    details, files = {}, []
    warnings = clean_leftovers(layout.seed_questions.parent, layout.corpus_questions.parent)
    lines = ["Stage 0 - download from the Hub"]
    if config.which in ("seed", "both"):
        seed, w = download_seed(layout, config)
        details["seed"], files = seed, files + [seed["path"]]
        warnings += w
        parts = ", ".join(f"{v:,} {k}" for k, v in sorted(seed["by_dataset"].items()))
        lines += [f"  seed questions   {seed['rows']:,} ({parts}) from {seed['source']}",
                  "                   checked: unique integer ids, no empty question"]
    if config.which in ("fullcorpus", "both"):
        corpus, w = download_corpus(layout, config)
        details["corpus"], files = corpus, files + [corpus["path"]]
        warnings += w
        top = ", ".join(f"{k or '(none)'} {v:,}" for k, v in list(corpus["subjects"].items())[:4])
        lines += [f"  corpus questions {corpus['rows']:,} from {corpus['source']}",
                  f"                   CSV {_size(corpus['csv_bytes'])} -> Parquet "
                  f"{_size(corpus['parquet_bytes'])}; subjects: {top}",
                  "                   checked: unique integer ids, no empty question",
                  f"                   {corpus['duplicates']}"]
    if config.revision and any(details[k]["source"].startswith("local folder") for k in details):
        warnings.append("--revision applies to Hub repos only; the local folder(s) were read as they are.")
    w = layout.workdir_option
    lines += [f"  next: python get_question_embeddings.py{w}  # stage 3",
              f"   or: python download_binary_correctness_from_hf.py{w}  # the published verdicts"]
    return Report(stage="download", summary="\n".join(lines), files=files, warnings=warnings,
                  config_dir=layout.data, details=details, seconds=time.perf_counter() - t0)
