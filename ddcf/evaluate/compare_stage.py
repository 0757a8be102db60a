"""``eval/compare.py RUN_DIR...``: one Table 2 over several evaluation runs, best per column, a bar chart."""

from __future__ import annotations

from pathlib import Path

from ddcf.errors import DDCFError
from ddcf.evaluate import tables
from ddcf.evaluate.compare_config import CompareConfig
from ddcf.evaluate.plots import comparison_chart
from ddcf.io import read_side_file, write_csv, write_text
from ddcf.layout import Layout
from ddcf.pipeline import Report


def load_run(run_dir: str) -> dict:
    path = Layout.eval_results(Path(run_dir), "json")
    if not path.is_file():
        raise DDCFError(f"{run_dir} is no evaluation run folder (it has no {path.name}).",
                        "pass folders written by eval/evaluate.py --output_dir DIR (finish that run first).")
    fix = "rerun eval/evaluate.py with the same --output_dir (it rewrites results.json from its shards)."
    res = read_side_file(path, "evaluation results", fix, expect=dict)
    benches = res.get("benchmarks")
    if not isinstance(benches, dict) or not all(isinstance(v, dict) for v in benches.values()):
        raise DDCFError(f"{path} holds no per-benchmark results (its 'benchmarks' is not an object of objects).", fix)
    warnings = res.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise DDCFError(f"{path}: its 'warnings' is not a list of texts.", fix)
    return res


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
