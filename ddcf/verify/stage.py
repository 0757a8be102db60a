"""Stage 1, verify: a table of existing completions -> one verdict table per model.

``run(layout, config)`` reads ``config.completions``, writes the seed question table
(every question of the file), grades each selected model that is not already up to date
(:func:`ddcf.verify.grade.grade_completions`, one shared :class:`Verifier` so the worker
pool and the verify cache serve all models), writes ``Layout.verdicts(model)`` and the
per-model accuracy table ``Layout.verify_summary``, and returns the one-screen summary.
"""

from __future__ import annotations

import time

import pandas as pd

from ddcf.artifacts.seed import write_seed
from ddcf.artifacts.verdicts import COLUMNS as VERDICT_COLUMNS
from ddcf.artifacts.verdicts import read_verdicts
from ddcf.errors import DDCFError
from ddcf.io import hash_ids, read_parquet_metadata, read_table, write_parquet
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.verify.accuracy import format_summary, summarize_verdicts
from ddcf.verify.answer_types.pick import resolve
from ddcf.verify.completions import COMPLETION_COLUMNS, check_completions, seed_questions_from_completions, text_columns
from ddcf.verify.config import VerifyConfig
from ddcf.verify.equivalence import Verifier, verifier_version
from ddcf.verify.extract import SCAN_CHARS
from ddcf.verify.gold import grading_style
from ddcf.verify.grade import completions_fingerprint, grade_completions, write_verdicts
from ddcf.verify.reference.grader import REFERENCE_VERSION, regrade

COMPLETIONS_FIX = (
    "pass a Parquet, CSV or JSONL table with the columns model, question_id, question, gold, completion "
    "(dataset optional), e.g. data/bundled/seed_completions.parquet."
)


def select_models(all_models: list[str], wanted: list[str], path) -> list[str]:
    """``--models`` in the order given (duplicates dropped); every name must be in the file."""
    if not wanted:
        return all_models
    known = set(all_models)
    unknown = [m for m in wanted if m not in known]
    if unknown:
        sample = ", ".join(all_models[:8]) + (", ..." if len(all_models) > 8 else "")
        raise DDCFError(
            f"--models names {len(unknown)} model(s) that the completions file {path} does not contain: "
            f"{', '.join(unknown[:5])}. It has {len(all_models)} models, e.g. {sample}.",
            "use names exactly as they appear in the 'model' column (comma-separated, no quotes).",
        )
    return list(dict.fromkeys(wanted))


def is_up_to_date(layout: Layout, model: str, fingerprint: dict, version: str, answer_types: dict) -> bool:
    """True when the model's verdict table was made from these completions by this verifier version and with
    the same answer types (a table graded as math before ``--answer_type choice`` is stale)."""
    path = layout.verdicts(model)
    if not path.exists():
        return False
    try:
        meta = read_parquet_metadata(path)
    except Exception:  # noqa: BLE001 - an unreadable table is simply redone
        return False
    return (
        meta.get("question_ids_sha256") == fingerprint["question_ids_sha256"]
        and meta.get("completions_sha256") == fingerprint["completions_sha256"]
        and meta.get("verifier_version") == version
        # tables written before answer types existed were all graded as math
        and meta.get("answer_types", {"math": int(meta.get("n", 0))}) == answer_types
    )


def type_counts(df: pd.DataFrame) -> dict:
    return {str(k): int(v) for k, v in sorted(df["answer_type"].value_counts().items())}


def read_completions(path: str, answer_type: str = "auto") -> pd.DataFrame:
    """The completions table with string columns, an answer type and a dataset on every row.

    The answer type is the row's ``answer_type``, else its dataset's default, else ``answer_type``
    (:func:`ddcf.verify.answer_types.pick.resolve`); math rows without a dataset get their grading style
    (gsm8k/math, inferred from the gold) as dataset, other rows their answer type's name."""
    df = read_table(path, "completions", COMPLETION_COLUMNS, COMPLETIONS_FIX)
    df = text_columns(df, f"completions file {path}")
    check_completions(df, f"completions file {path}")
    df = df.assign(
        model=df["model"].astype(str),
        question_id=df["question_id"].astype(str),
        gold=df["gold"].astype(str),
        completion=df["completion"].fillna("").astype(str),
    )
    given = df["dataset"] if "dataset" in df.columns else pd.Series([None] * len(df), index=df.index)
    own = df["answer_type"] if "answer_type" in df.columns else pd.Series([None] * len(df), index=df.index)
    picks: dict = {}
    types = resolve(own.tolist(), given.tolist(), answer_type, where=f"column 'answer_type' of {path}",
                    golds=df["gold"].tolist(), questions=df["question"].astype(str).tolist(), picks=picks)
    df = df.assign(answer_type=types)
    df.attrs["auto_picks"] = picks
    if "dataset" not in df.columns or df["dataset"].isna().any():
        # Infer the grading style (gsm8k/math) from the gold, so the seed table and verdicts name it.
        df = df.assign(dataset=[
            d if isinstance(d, str) and d else grading_style(None, g) if t == "math" else t
            for d, g, t in zip(given, df["gold"], types)
        ])
    clash = df.groupby("question_id")["gold"].nunique()
    if (clash > 1).any():
        q = clash[clash > 1].index[0]
        raise DDCFError(
            f"The completions file {path} gives {int((clash > 1).sum())} question(s) different gold answers in "
            f"different rows (e.g. {q!r}: {sorted(df.loc[df['question_id'] == q, 'gold'].unique())[:3]}).",
            "use one gold answer per question_id (question ids must identify questions across models).",
        )
    return df


def _row_warnings(verdicts: pd.DataFrame) -> list[str]:
    """One line per kind of row that was graded but deserves a look ('error', 'truncated')."""
    out = []
    errors = verdicts.attrs.get("row_errors", [])
    if errors:
        i, msg = errors[0]
        row = verdicts.iloc[i]
        out.append(
            f"{len(errors)} row(s) could not be graded and count as not correct (status 'error'), e.g. model "
            f"{row['model']!r}, question {row['question_id']!r}: {msg}."
        )
    for m, g in verdicts.groupby("model", sort=True):
        bad = int(g["status"].isin(["no_answer", "unparsed"]).sum())
        if len(g) >= 10 and bad > 0.2 * len(g):
            un = int((g["status"] == "unparsed").sum())
            out.append(
                f"model {m!r}: {bad} of {len(g)} rows have no answer the answer type could read ({un} unparsed, "
                f"{bad - un} with no answer span): a format problem, not necessarily a wrong model; look at a few "
                "completions (e.g. where the answer is) and the answer type (--answer_type)."
            )
    n_trunc = int((verdicts["status"] == "truncated").sum())
    if n_trunc:
        out.append(
            f"{n_trunc} completion(s) are longer than {SCAN_CHARS:,} characters; only their last {SCAN_CHARS:,} "
            "were searched for the final answer (status 'truncated')."
        )
    return out


def run(layout: Layout, config: VerifyConfig) -> Report:
    t0 = time.perf_counter()
    path = config.completions
    df = read_completions(path, config.answer_type)
    files = []

    # The seed question set, for later stages (all questions of the file, not only --models).
    seed = seed_questions_from_completions(df)
    files.append(write_seed(
        layout,
        seed,
        provenance={"source": str(path), "question_ids_sha256": hash_ids(seed["question_id"]), "stage": "infer"},
    ))

    all_models = sorted(df["model"].unique())
    models = select_models(all_models, config.models, path)
    # one verdict table per model: refuse before writing any if two names would share a file
    layout.check_distinct_paths(all_models, layout.verdicts)
    version = verifier_version()
    if config.grader == "reference":  # the released grader's verdicts (ddcf.verify.reference)
        version = f"{REFERENCE_VERSION}+{version}"
    by_model = {m: g for m, g in df[df["model"].isin(models)].groupby("model", sort=False)}
    todo, skipped = [], []
    for m in models:
        fp = completions_fingerprint(by_model[m])
        if not config.reverify and is_up_to_date(layout, m, fp, version, type_counts(by_model[m])):
            skipped.append(m)
        else:
            todo.append(m)

    print(
        f"infer.py: {len(df):,} completions of {len(all_models)} models in {path}; "
        f"verifying {len(todo)} model(s), {len(skipped)} already verified (skipped; --reverify to redo).",
        flush=True,
    )
    stats = None
    fresh: dict = {}
    warnings: list[str] = []
    if todo:
        rows = pd.concat([by_model[m] for m in todo], ignore_index=True)
        with Verifier(
            timeout=config.timeout, workers=config.workers, cache_path=layout.verify_cache, progress=config.progress
        ) as verifier:
            verdicts = grade_completions(
                rows, verifier=verifier, progress=config.progress, what=f"completions file {path}"
            )
            stats = verifier.stats
        if config.grader == "reference":
            verdicts = regrade(verdicts, [i for i, t in enumerate(rows["answer_type"]) if t == "math"],
                               timeout=config.timeout, workers=config.workers)
        warnings += _row_warnings(verdicts)
        for m, g in verdicts.groupby("model", sort=False):
            files.append(
                write_verdicts(layout, m, g, source=str(path), timeout=config.timeout, verifier_version=version,
                               extra={"answer_types": type_counts(by_model[m])})
            )
            fresh[m] = g

    # Summary over every selected model (freshly verified or skipped).
    tables = [fresh[m] if m in fresh else read_verdicts(layout, m, columns=VERDICT_COLUMNS).astype({"correct": bool})
              for m in models]
    summary = summarize_verdicts(pd.concat(tables, ignore_index=True))
    files.append(write_parquet(
        summary,
        layout.verify_summary,
        metadata={"source": str(path), "models": len(models), "verifier_version": version,
                  "timeout_s": config.timeout},
    ))
    lines = [format_summary(summary), ""]
    for ds, (kind, why) in df.attrs.get("auto_picks", {}).items():
        lines.append(f"--answer_type auto: dataset {ds or '(none)'!r} graded as {kind} ({why}).")
    if stats is not None:
        lines.append(
            f"pairs checked: {stats.distinct:,} distinct ({stats.exact + stats.numeric + stats.symbolic:,} by the fast "
            f"path, {stats.cache_hits:,} from the cache, {stats.math_verify:,} by math-verify; "
            f"{stats.timeouts} timed out, {stats.errors} errors)."
        )
    seconds = time.perf_counter() - t0
    lines.append(
        f"verdicts: {layout.verdicts_dir}  summary: {layout.verify_summary}  "
        f"seed questions: {layout.seed_questions} ({len(seed)})  time: {seconds:.1f} s"
    )
    return Report(
        stage="verify",
        summary="\n".join(lines),
        files=files,
        config_dir=layout.verdicts_dir,
        warnings=warnings,
        details={"verified": todo, "skipped": skipped, "summary": summary, "stats": stats},
        seconds=seconds,
    )
