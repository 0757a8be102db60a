"""Stage 0''s ``run``: the published correctness repo -> ``Layout.verdicts(model)`` per model + model_order.csv.

The verdict tables have exactly the columns infer.py writes (``ddcf.verify.grade.VERDICT_COLUMNS``) and go
through the same writer (``write_verdicts``), so create_training_data.py cannot tell them apart from our
own.  Every verdict's question must be in the seed table the download stage wrote (joined by question id);
the model order is the order in which the models appear in the published table.
"""

from __future__ import annotations

import time

import pandas as pd

from ddcf.artifacts import seed as seed_table
from ddcf.artifacts.verdicts import verdict_files
from ddcf.download_correctness.config import DownloadCorrectnessConfig
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.hub.leftovers import clean_leftovers
from ddcf.hub.repo import card_license, resolve_repo, split_files
from ddcf.hub.schemas import (
    PUBLISHED_CORRECTNESS_COLUMNS,
    SEED_PREFIX,
    exact_prompt_ids,
    model_from_hub,
    model_to_hub,
    seed_question_id,
    verdicts_from_published,
)
from ddcf.hub.tables import check_columns, model_row_groups, read_model_rows
from ddcf.io import write_csv
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.verify.grade import write_verdicts

WHAT = "binary-correctness repo"
SEED_FIX = "download the seed questions first: python download_ddcf_math_from_hf.py --which seed"


def read_seed(layout: Layout) -> pd.DataFrame:
    seed = seed_table.read_seed(layout, columns=("question_id", "question", "dataset"), fix=SEED_FIX)
    if not seed["question_id"].astype(str).str.startswith(SEED_PREFIX).all():
        raise InputMismatchError(
            f"The seed question table {layout.seed_questions} was not written by download_ddcf_math_from_hf.py "
            f"(its ids, e.g. {seed['question_id'].iloc[0]!r}, do not start with {SEED_PREFIX!r}), so the published "
            "verdicts cannot be joined to it.", SEED_FIX + " (it replaces the current seed table).")
    return seed


def choose_models(published: list[str], wanted: list[str] | None) -> list[str]:
    """Published names to convert, in published order; ``--models`` may use either spelling."""
    if not wanted:
        return published
    as_published = {model_to_hub(m): m for m in wanted}
    unknown = [m for p, m in as_published.items() if p not in published]
    if unknown:
        known = ", ".join(model_from_hub(m) for m in published[:12]) + (" ..." if len(published) > 12 else "")
        raise DDCFError(f"--models names model(s) that the correctness repo does not have: {', '.join(unknown)}.",
                        f"use names from the repo: {known}.")
    return [p for p in published if p in as_published]


def restored_names(published: list[str], repo) -> list[str]:
    """Our model names for the published ones; two published names that restore to one ('a/b' and 'a__b')
    would write one table over the other, so they are refused."""
    seen: dict[str, str] = {}
    for p in published:
        other = seen.setdefault(model_from_hub(p), p)
        if other != p:
            raise DDCFError(f"The {WHAT} {repo.source} holds the models {other!r} and {p!r}, which name the same "
                            f"model {model_from_hub(p)!r} (the published tables write '/' as '__'), so their "
                            "verdicts would be written to one table.",
                            "rename one of them in the repo (or pass --models to convert only one of them).")
    return list(seen)


def convert_model(layout, repo, parts, published: str, seed: pd.DataFrame, seed_ids: set, fix: str):
    """One model's published rows -> its verdict table; returns (path, stats, warnings)."""
    model = model_from_hub(published)
    where = f"the {WHAT} {repo.source} (model {model})"
    pub = read_model_rows(parts, published, PUBLISHED_CORRECTNESS_COLUMNS)
    ids = exact_prompt_ids(pub["prompt_id"], where, fix)
    pub = pub.assign(prompt_id=ids.to_numpy())
    qids = seed_question_id(ids)
    absent = ~qids.isin(seed_ids)
    if absent.any():
        sample = ", ".join(qids[absent].str[len(SEED_PREFIX):][:3])
        raise InputMismatchError(
            f"{int(absent.sum()):,} of the {len(pub):,} verdicts of {where} are for questions that the seed table "
            f"{layout.seed_questions} does not have (e.g. prompt_id {sample}).",
            "download the seed questions from the same release (download_ddcf_math_from_hf.py --which seed with "
            "the matching --seed_repo_id/--revision), then rerun this.")
    verdicts = verdicts_from_published(pub, seed, where)
    warnings = []
    dup = int(verdicts["question_id"].duplicated().sum())
    if dup:
        warnings.append(f"{model}: {dup:,} question(s) have several published verdicts; create_training_data.py "
                        "averages them into a pass rate (--pass_threshold).")
    text = verdicts["question_id"].map(seed.set_index("question_id")["question"])
    differ = int((text.astype(str).str.strip() != verdicts["question"].str.strip()).sum())
    if differ:
        warnings.append(f"{model}: {differ:,} verdict(s) quote a prompt that differs from the seed table's text "
                        "(the join is by prompt_id).")
    path = write_verdicts(layout, model, verdicts, source=repo.source,
                          extra={"produced_by": "download_binary_correctness_from_hf.py", **repo.provenance()})
    stats = {"model": model, "rows": len(verdicts), "accuracy": float(verdicts["correct"].mean()),
             "no_answer": int((verdicts["status"] == "no_answer").sum())}
    return path, stats, warnings


def run(layout: Layout, config: DownloadCorrectnessConfig) -> Report:
    t0 = time.perf_counter()
    seed = read_seed(layout)
    repo = resolve_repo(config.repo_id, option="--repo_id", what=WHAT, revision=config.revision,
                        progress=config.progress)
    fix = (f"pass --repo_id the published correctness repo or a folder laid out like it (split {config.split!r} in "
           f"data/{config.split}-*.parquet, columns {', '.join(PUBLISHED_CORRECTNESS_COLUMNS)}).")
    files = split_files(repo, config.split, "--repo_id", WHAT)
    check_columns(files, PUBLISHED_CORRECTNESS_COLUMNS, WHAT, fix)
    where = model_row_groups(files, WHAT, fix)
    if "" in where:
        raise DDCFError(f"The {WHAT} {repo.source} has rows without a model name.", fix)
    if not where:
        raise DDCFError(f"The {WHAT} {repo.source} (split {config.split}) has no rows.", fix)
    chosen = choose_models(list(where), config.models)
    models = restored_names(chosen, repo)
    Layout.check_distinct_paths(models, layout.verdicts)  # before writing any table
    seed_ids = set(seed["question_id"].astype(str))
    files_out, stats = [], []
    warnings = clean_leftovers(layout.verdicts_dir, layout.model_order.parent)
    for published in chosen:
        path, s, w = convert_model(layout, repo, where[published], published, seed, seed_ids, fix)
        files_out.append(path)
        stats.append(s)
        warnings += w
    # written last: a run cut short leaves the previous model order, never one that names absent tables
    order = pd.DataFrame({"model_id": range(len(models)), "model": models})
    files_out.append(write_csv(order, layout.model_order))
    others = sorted({p.name for p in verdict_files(layout)} - {layout.verdicts(m).name for m in models})
    if others:
        warnings.append(f"{len(others)} other verdict table(s) in {layout.verdicts_dir} ({', '.join(others[:4])}"
                        f"{' ...' if len(others) > 4 else ''}) will also enter create_training_data.py's matrix; "
                        "pass it --models to leave them out.")
    if config.revision and repo.local:
        warnings.append("--revision applies to Hub repos only; the local folder was read as it is.")
    return Report(stage="download_correctness", summary=_summary(repo, stats, len(seed), layout, card_license(
        repo.folder)), files=files_out, warnings=warnings, config_dir=layout.verdicts_dir,
        details={"models": stats, "source": repo.source}, seconds=time.perf_counter() - t0)


def _summary(repo, stats: list[dict], n_seed: int, layout: Layout, license_: str | None) -> str:
    n = sum(s["rows"] for s in stats)
    lines = [f"Stage 0' - published binary correctness from {repo.source}" + (f" (license {license_})"
                                                                             if license_ else ""),
             f"  models      {len(stats)}  -> {layout.verdicts_dir}/<model>.parquet, {layout.model_order}",
             f"  verdicts    {n:,}  ({n / max(1, len(stats) * n_seed):.1%} of {len(stats)} models x {n_seed:,} seed "
             "questions)",
             "  checked     every verdict's question is in the seed table; integer ids; true/false checks"]
    for s in stats[:12]:
        lines.append(f"    {s['model']:40s} {s['rows']:7,} verdicts  accuracy {s['accuracy']:.3f}  "
                     f"no answer {s['no_answer']:,}")
    if len(stats) > 12:
        lines.append(f"    ... and {len(stats) - 12} more")
    lines.append(f"  next: python create_training_data.py{layout.workdir_option}  # stage 2")
    return "\n".join(lines)
