"""``eval/compare.py RUN_DIR...``: one Table 2 over several evaluation runs, best per column, a bar chart."""

from __future__ import annotations

from pathlib import Path

from ddcf.artifacts import eval_run
from ddcf.evaluate import tables
from ddcf.evaluate.compare_config import CompareConfig
from ddcf.evaluate.plots import comparison_chart
from ddcf.io import write_csv, write_text
from ddcf.layout import Layout
from ddcf.pipeline import Report


def load_run(run_dir: str) -> dict:
    return eval_run.read_results(run_dir)


def run(layout: Layout, config: CompareConfig) -> Report:
    results = [load_run(r) for r in config.runs]
    labels = config.labels or [Path(r).resolve().name for r in config.runs]
    rows = [tables.table_row(r) for r in results]
    headers: dict[str, str] = {}
    for r in results:
        headers.update(tables.headline_names(r))
    md = tables.markdown(labels, rows, [tables.flagged_columns(r) for r in results], mark_best=True,
                         headers=headers)
    out = Path(config.output_dir) if config.output_dir else layout.compare_dir()
    files = [write_text(md, out / "comparison.md"),
             write_csv(tables.frame(labels, rows).assign(model=[r.get("model", "") for r in results]),
                       out / "comparison.csv"),
             comparison_chart(labels, rows, Layout.compare_plot(out))]
    warnings = [f"{lab}: {w}" for lab, r in zip(labels, results) for w in r.get("warnings", [])
                if "seed questions" in w]
    summary = f"Comparison of {len(results)} evaluation run(s) (best per column in bold):\n\n{md}"
    return Report(stage="compare", summary=summary, files=files, warnings=warnings, config_dir=out,
                  details={"rows": rows, "labels": labels, "best": tables.best_per_column(rows)})
