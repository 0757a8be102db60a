#!/usr/bin/env python
"""Compare two pipeline runs: are the selections (ids in pick order) and predictor metrics identical?

    python scripts/compare_runs.py OLD_WORKDIR NEW_WORKDIR [--model_name M] [--lamda 0.2] [--num_select 1000]

Used to show that a restructuring of the code changed nothing: run ``make demo WORKDIR=...`` on both
versions and compare.  Exits 0 when everything matches, 1 otherwise (and says what differs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from ddcf.layout import Layout


def _metrics(layout: Layout) -> dict:
    return json.loads(layout.predictor_metrics.read_text())["final"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--model_name", default="Meta-Llama-3-8B-Instruct")
    p.add_argument("--lamda", type=float, default=0.2)
    p.add_argument("--num_select", type=int, default=1000)
    args = p.parse_args(argv)
    a, b = Layout(Path(args.old)), Layout(Path(args.new))
    for x in (a, b):
        run = x.selection_dir(args.model_name, args.lamda, args.num_select)
        for need in (x.selection_table(run), x.predictor_metrics, x.difficulty(args.model_name)):
            if not need.is_file():
                print(f"error: {need} does not exist; run the whole pipeline (make demo WORKDIR=...) in {x.root} "
                      "first, with the same --model_name/--lamda/--num_select.")
                return 2
    ok = True

    sel = [pd.read_parquet(x.selection_table(x.selection_dir(args.model_name, args.lamda, args.num_select)))
           for x in (a, b)]
    same_ids = sel[0]["question_id"].tolist() == sel[1]["question_id"].tolist()
    print(f"selection ({len(sel[0])} vs {len(sel[1])} rows): ids in order {'identical' if same_ids else 'DIFFER'}")
    ok &= same_ids

    ma, mb = _metrics(a), _metrics(b)
    for method in sorted(set(ma) | set(mb)):
        ra, rb = ma.get(method, {}), mb.get(method, {})
        keys = sorted(k for k in set(ra) | set(rb) if isinstance(ra.get(k, rb.get(k)), (int, float)))
        diff = [k for k in keys if ra.get(k) != rb.get(k)]
        print(f"predictor metrics [{method}]: {'identical' if not diff else 'DIFFER in ' + ', '.join(diff)}")
        ok &= not diff

    da = pd.read_parquet(a.difficulty(args.model_name)).set_index("question_id")["predicted_correctness"]
    db = pd.read_parquet(b.difficulty(args.model_name)).set_index("question_id")["predicted_correctness"]
    same_diff = da.sort_index().equals(db.sort_index())
    print(f"predicted correctness of {len(da):,} corpus questions: {'identical' if same_diff else 'DIFFER'}")
    ok &= same_diff
    print("RESULT:", "identical" if ok else "different")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
