"""Answer types against a reference label: grade (completion, gold, answer_type[, model], label) rows.

Reads a Parquet/CSV/JSONL table with the columns completion, gold, label (True/False: is the answer right?)
and optionally answer_type, model, question, question_id, dataset; grades it with the verify stage's
``grade_completions`` and prints, per answer type and per model, how often our verdict agrees with the label,
the status counts (no_answer / unparsed / fallback) and the median time per row over ``--repeats`` runs.

With no table it runs on the built-in table: the hand-labelled golden rows of the tests
(tests/verify/data/answer_type_golden.jsonl: 46 code-output rows in the ZeroEval JSON style, 13 multiple-choice,
8 exact, 8 math).  Usage::

    python benchmarks/bench_answer_types.py                          # built-in table
    python benchmarks/bench_answer_types.py my_rows.parquet --answer_type code_output --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
GOLDEN = ROOT / "tests" / "verify" / "data" / "answer_type_golden.jsonl"


def load(path: str | None, answer_type: str | None):
    import pandas as pd

    from ddcf.io import read_table

    df = pd.read_json(GOLDEN, lines=True, dtype=False) if path is None else read_table(
        path, "labelled answers", ["completion", "gold", "label"],
        "pass a table with the columns completion, gold, label (answer_type, model, question optional).")
    n = len(df)
    df = df.assign(
        model=df["model"].astype(str) if "model" in df.columns else "model",
        question_id=df["question_id"].astype(str) if "question_id" in df.columns else [f"q{i}" for i in range(n)],
        question=df["question"].fillna("").astype(str) if "question" in df.columns else "",
        label=df["label"].map(lambda x: str(x).strip().lower() in ("true", "1", "yes")),
    )
    if "answer_type" not in df.columns:
        df = df.assign(answer_type=answer_type)
    return df


def main(argv=None) -> int:
    import pandas as pd

    from ddcf.verify.grade import grade_completions

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("table", nargs="?", default=None, help="Labelled rows (default: the built-in golden table).")
    p.add_argument("--answer_type", default="auto", help="Type for rows without an answer_type (default auto).")
    p.add_argument("--repeats", type=int, default=3, help="Timed runs; the median is printed (default 3).")
    args = p.parse_args(argv)
    df = load(args.table, args.answer_type)
    src = df.drop(columns="label")
    walls, out = [], None
    for _ in range(max(1, args.repeats)):
        t0 = time.perf_counter()
        out = grade_completions(src, workers=1, progress=False, answer_type=args.answer_type)
        walls.append(time.perf_counter() - t0)
    v = out.assign(answer_type=df["answer_type"].fillna(args.answer_type).to_numpy(), label=df["label"].to_numpy(),
                   agree=out["correct"].astype(bool).to_numpy() == df["label"].to_numpy())
    print(f"table: {args.table or GOLDEN}  rows: {len(v)}  median time: {statistics.median(walls):.3f} s "
          f"({1000 * statistics.median(walls) / max(1, len(v)):.2f} ms/row)")
    for by in ("answer_type", "model"):
        g = v.groupby(by)
        table = pd.DataFrame({"n": g.size(), "agreement": g["agree"].mean().map(lambda x: f"{100 * x:.1f}%"),
                              "ours_acc": g["correct"].mean().map(lambda x: f"{100 * x:.1f}%"),
                              "label_acc": g["label"].mean().map(lambda x: f"{100 * x:.1f}%"),
                              "no_answer": g["status"].apply(lambda s: int((s == "no_answer").sum())),
                              "unparsed": g["status"].apply(lambda s: int((s == "unparsed").sum())),
                              "fallback": g["status"].apply(lambda s: int((s == "fallback").sum()))})
        print(f"\nper {by}:\n{table.to_string()}")
    print(f"\noverall agreement: {100 * v['agree'].mean():.1f}% ({int((~v['agree']).sum())} disagreements)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
