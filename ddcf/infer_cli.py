"""infer.py: stage 1 — completions -> per-model verdict tables.

Two modes share one parser:

* precomputed (``--completions PATH``): verify every model's existing
  completions (this module);
* generation (no ``--completions``): generate completions with an LLM, then
  verify them.  That mode lives in ``ddcf.generate.cli`` (another part of the
  project); it adds its own options with ``add_generation_args(parser)`` and
  runs with ``run_generation_mode(args, layout)``.  If the module is absent,
  asking for generation is a clear error.

Heavy imports (pandas, the verifier) happen inside functions: worker
processes never import this module, and ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Sequence

from ddcf.cli import add_workdir_arg, run_main
from ddcf.errors import DDCFError
from ddcf.layout import Layout

DEFAULT_TIMEOUT_S = 5.0
SUMMARY_NAME = "verify_summary.parquet"  # under DDCF_data/


# ---------------------------------------------------------------------------- parser
def add_verify_args(parser: argparse.ArgumentParser) -> None:
    """Options of the precomputed-completions (verify) mode."""
    g = parser.add_argument_group("verify precomputed completions")
    g.add_argument(
        "--completions",
        default=None,
        metavar="PATH",
        help="Parquet/CSV/JSONL table of existing completions with columns model, question_id, question, gold, "
        "completion (dataset optional: 'gsm8k'/'math'; inferred from the gold when absent). "
        "Without this option infer.py runs the generation mode.",
    )
    g.add_argument(
        "--models",
        default=None,
        help="Comma-separated subset of the models in the completions table to verify (default: all).",
    )
    g.add_argument(
        "--reverify",
        action="store_true",
        help="Verify again even where a verdict table for the same completions already exists "
        "(default: a model whose verdict table matches its completions and the verifier version is skipped, "
        "so an interrupted run resumes; verified pairs come from the verify cache either way).",
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="Hard time limit in seconds for checking one (prediction, gold) pair with math-verify; "
        "a pair that hits it counts as not correct (status 'timeout'). Default: 5.",
    )
    g.add_argument(
        "--workers",
        type=int,
        default=None,
        help="math-verify worker processes (default: the number of CPUs).",
    )
    g.add_argument("--no_progress", action="store_true", help="Hide progress bars (e.g. in log files).")


def _generation_module():
    """``(module, None)`` if ``ddcf.generate.cli`` imports, else ``(None, reason)``."""
    try:
        from ddcf.generate import cli as gen_cli  # noqa: PLC0415 - optional part, imported lazily
    except ImportError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return gen_cli, None


def build_parser(with_generation: bool = True, add_help: bool = True):
    """The infer.py parser; ``with_generation`` also adds ddcf.generate.cli's options when it imports.

    Returns ``(parser, generation_module_or_None, why_not_imported)``.
    """
    parser = argparse.ArgumentParser(
        prog="infer.py",
        add_help=add_help,
        description="Stage 1: per-model verdict tables (was each seed question answered correctly?). "
        "With --completions, verify existing completions; otherwise generate them with an LLM first.",
    )
    add_workdir_arg(parser)
    add_verify_args(parser)
    gen, reason = (None, "not requested")
    if with_generation:
        gen, reason = _generation_module()
        if gen is not None and hasattr(gen, "add_generation_args"):
            gen.add_generation_args(parser)
    return parser, gen, reason


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Verify mode does not need the generation part (importing it pulls in model back-ends),
    # so peek at --completions first; --help shows every option.
    peek, _ = build_parser(with_generation=False, add_help=False)[0].parse_known_args(argv)
    verify_only = bool(peek.completions) and not any(a in ("-h", "--help") for a in argv)
    parser, gen, reason = build_parser(with_generation=not verify_only)
    args = parser.parse_args(argv)
    layout = Layout.from_arg(args.workdir)
    if args.completions:
        return run_verify_mode(args, layout)
    if gen is None or not hasattr(gen, "run_generation_mode"):
        raise DDCFError(
            "infer.py was started without --completions, which means generation mode, but generation mode is "
            f"not installed here (ddcf.generate.cli could not be imported: {reason or 'no run_generation_mode'}).",
            "pass --completions PATH to verify existing completions (e.g. --completions "
            "data/bundled/seed_completions.parquet), or install the generation part of ddcf.",
        )
    return int(gen.run_generation_mode(args, layout) or 0)


# ---------------------------------------------------------------------------- verify mode
def _check_options(args) -> None:
    t = args.timeout
    if t is None or not math.isfinite(t) or t <= 0:
        raise DDCFError(f"--timeout must be a positive number of seconds; got {t}.", "pass e.g. --timeout 5.")
    if args.workers is not None and args.workers < 1:
        raise DDCFError(f"--workers must be at least 1; got {args.workers}.", "omit it to use one per CPU.")


def _select_models(all_models: list[str], spec: str | None, path) -> list[str]:
    if not spec:
        return all_models
    wanted = [m.strip() for m in spec.split(",") if m.strip()]
    if not wanted:
        raise DDCFError("--models is empty.", "pass comma-separated model names, or omit --models for all.")
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


def _is_up_to_date(layout: Layout, model: str, fingerprint: dict, version: str) -> bool:
    from ddcf.io import read_parquet_metadata

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
    )


def run_verify_mode(args, layout: Layout) -> int:
    import pandas as pd

    from ddcf.data.bundled import seed_questions_from_completions
    from ddcf.io import hash_ids, read_table, write_parquet
    from ddcf.verify.equivalence import Verifier, verifier_version
    from ddcf.verify.gold import grading_style
    from ddcf.verify.grade import COMPLETION_COLUMNS, check_completions, completions_fingerprint, grade_completions, write_verdicts
    from ddcf.verify.summary import format_summary, summarize_verdicts

    _check_options(args)
    t0 = time.perf_counter()
    path = args.completions
    fix = (
        "pass a Parquet, CSV or JSONL table with the columns model, question_id, question, gold, completion "
        "(dataset optional), e.g. data/bundled/seed_completions.parquet."
    )
    df = read_table(path, "completions", COMPLETION_COLUMNS, fix)
    check_completions(df, f"completions file {path}")
    df = df.assign(
        model=df["model"].astype(str),
        question_id=df["question_id"].astype(str),
        gold=df["gold"].astype(str),
        completion=df["completion"].fillna("").astype(str),
    )
    if "dataset" not in df.columns or df["dataset"].isna().any():
        # Infer the grading style (gsm8k/math) from the gold, so the seed table and verdicts name it.
        given = df["dataset"] if "dataset" in df.columns else pd.Series([None] * len(df), index=df.index)
        df = df.assign(
            dataset=[d if isinstance(d, str) and d else grading_style(None, g) for d, g in zip(given, df["gold"])]
        )
    clash = df.groupby("question_id")["gold"].nunique()
    if (clash > 1).any():
        q = clash[clash > 1].index[0]
        raise DDCFError(
            f"The completions file {path} gives {int((clash > 1).sum())} question(s) different gold answers in "
            f"different rows (e.g. {q!r}: {sorted(df.loc[df['question_id'] == q, 'gold'].unique())[:3]}).",
            "use one gold answer per question_id (question ids must identify questions across models).",
        )

    # The seed question set, for later stages (all questions of the file, not only --models).
    seed = seed_questions_from_completions(df)
    write_parquet(
        seed,
        layout.seed_questions,
        metadata={"source": str(path), "question_ids_sha256": hash_ids(seed["question_id"]), "stage": "infer"},
    )

    all_models = sorted(df["model"].unique())
    models = _select_models(all_models, args.models, path)
    version = verifier_version()
    by_model = {m: g for m, g in df[df["model"].isin(models)].groupby("model", sort=False)}
    todo, skipped = [], []
    for m in models:
        fp = completions_fingerprint(by_model[m])
        if not args.reverify and _is_up_to_date(layout, m, fp, version):
            skipped.append(m)
        else:
            todo.append(m)

    print(
        f"infer.py: {len(df):,} completions of {len(all_models)} models in {path}; "
        f"verifying {len(todo)} model(s), {len(skipped)} already verified (skipped; --reverify to redo)."
    )
    stats = None
    fresh: dict = {}
    if todo:
        rows = pd.concat([by_model[m] for m in todo], ignore_index=True)
        progress = not getattr(args, "no_progress", False)
        with Verifier(
            timeout=args.timeout, workers=args.workers, cache_path=layout.verify_cache, progress=progress
        ) as verifier:
            verdicts = grade_completions(rows, verifier=verifier, progress=progress, what=f"completions file {path}")
            stats = verifier.stats
        for m, g in verdicts.groupby("model", sort=False):
            write_verdicts(layout, m, g, source=str(path), timeout=args.timeout, verifier_version=version)
            fresh[m] = g

    # Summary over every selected model (freshly verified or skipped).
    tables = [fresh[m] if m in fresh else pd.read_parquet(layout.verdicts(m)) for m in models]
    summary = summarize_verdicts(pd.concat(tables, ignore_index=True))
    write_parquet(
        summary,
        layout.data / SUMMARY_NAME,
        metadata={"source": str(path), "models": len(models), "verifier_version": version, "timeout_s": args.timeout},
    )
    print()
    print(format_summary(summary))
    print()
    if stats is not None:
        print(
            f"pairs checked: {stats.distinct:,} distinct ({stats.exact + stats.numeric + stats.symbolic:,} by the fast "
            f"path, {stats.cache_hits:,} from the cache, {stats.math_verify:,} by math-verify; "
            f"{stats.timeouts} timed out, {stats.errors} errors)."
        )
    print(
        f"verdicts: {layout.verdicts_dir}  summary: {layout.data / SUMMARY_NAME}  "
        f"seed questions: {layout.seed_questions} ({len(seed)})  time: {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(run_main(main))
