"""Which fine-tune an evaluation folder of ``train/run.sh`` belongs to, so the evaluation step is skipped only
for the same fine-tuned model, benchmarks and options.

The evaluation's own shard store keys on the model *path* (``--model_name_or_path SFT_DIR``), which stays the
same when that folder's fine-tune is replaced (``--overwrite``): it would resume, or report, the earlier model's
completions.  So run.sh records ``run_sh_eval.json`` in the evaluation folder before evaluating: the SHA-256 of
the fine-tune's ``sft_report.json`` (written once per finished training, with its losses and time), BENCHMARKS,
EVAL_ARGS, and ``finished`` after a successful evaluation.

    python -m ddcf.sft.evalstate check SFT_DIR EVAL_DIR BENCHMARKS EVAL_ARGS   exit 0 skip, 3 evaluate
    python -m ddcf.sft.evalstate done  SFT_DIR EVAL_DIR BENCHMARKS EVAL_ARGS   after a successful evaluation

``check`` says which, and why; an evaluation of another (or an unrecorded) fine-tune is deleted first (its shards
and results: its model is gone from SFT_DIR), never resumed.  Imports nothing heavy.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path
from typing import Sequence

from ddcf.io import read_json, write_json
from ddcf.layout import Layout

MARKER = "run_sh_eval.json"
SKIP, EVALUATE = 0, 3


def sft_key(sft_dir: Path) -> str:
    return hashlib.sha256(Layout.sft_report(sft_dir).read_bytes()).hexdigest()


def _outputs(eval_dir: Path) -> list[Path]:
    """What an evaluation writes (ddcf.evaluate.stage): shards, predictions and results."""
    eval_dir = Path(eval_dir)
    return [Layout.eval_shards(eval_dir, "x").parent, Layout.eval_predictions(eval_dir),
            *(Layout.eval_results(eval_dir, ext) for ext in ("json", "md", "csv"))]


def check(sft_dir: Path, eval_dir: Path, benchmarks: str, eval_args: str, log=print) -> int:
    key = sft_key(sft_dir)
    marker = Path(eval_dir) / MARKER
    saved = read_json(marker, "run.sh's evaluation record", f"delete {eval_dir}") if marker.is_file() else None
    present = [p for p in _outputs(eval_dir) if p.exists()]
    if saved is not None and saved.get("sft_report_sha256") != key or saved is None and present:
        why = "an earlier fine-tune" if saved is not None else "an unrecorded model (made before run.sh kept a record)"
        log(f"   {eval_dir} holds an evaluation of {why} in {sft_dir}, not of its current sft_report.json: "
            "deleted it and evaluating again")
        for p in present:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        saved = None
    same = saved is not None and saved.get("benchmarks") == benchmarks and saved.get("eval_args") == eval_args
    if same and saved.get("finished") and Layout.eval_results(eval_dir, "json").is_file():
        log(f"   done before: skipped (same fine-tune, BENCHMARKS and EVAL_ARGS; "
            f"{Layout.eval_results(eval_dir, 'json')})")
        return SKIP
    if saved is not None and not same:
        log(f"   BENCHMARKS/EVAL_ARGS differ from the last evaluation ({saved.get('benchmarks')!r}, "
            f"{saved.get('eval_args')!r}): evaluating (finished shards with the same settings are kept)")
    Path(eval_dir).mkdir(parents=True, exist_ok=True)
    write_json({"sft_report_sha256": key, "sft_dir": str(sft_dir), "benchmarks": benchmarks, "eval_args": eval_args,
                "finished": False}, marker)
    return EVALUATE


def done(sft_dir: Path, eval_dir: Path, benchmarks: str, eval_args: str) -> int:
    write_json({"sft_report_sha256": sft_key(sft_dir), "sft_dir": str(sft_dir), "benchmarks": benchmarks,
                "eval_args": eval_args, "finished": True}, Path(eval_dir) / MARKER)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 5 or args[0] not in ("check", "done"):
        print("usage: python -m ddcf.sft.evalstate check|done SFT_DIR EVAL_DIR BENCHMARKS EVAL_ARGS", file=sys.stderr)
        return 2
    fn = check if args[0] == "check" else done
    return fn(Path(args[1]), Path(args[2]), args[3], args[4])


if __name__ == "__main__":
    from ddcf.cli import run_main

    sys.exit(run_main(main))
