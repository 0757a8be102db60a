"""Stage 1, generate: ``run(layout, config)`` answers the seed questions with one model and verifies them.

The work is :func:`ddcf.generate.runner.run_generation` (resumable shards, then grading);
this module turns its result into the stage's :class:`~ddcf.pipeline.Report`: the run
summary (throughput, accuracy, length report) and, with ``--n > 1``, the pass-rate buckets.
"""

from __future__ import annotations

from ddcf.generate.config import GenerateConfig
from ddcf.generate.passrate import format_bucket_table, load_pass_rates
from ddcf.generate.report import format_summary
from ddcf.generate.runner import run_generation
from ddcf.layout import Layout
from ddcf.pipeline import Report


def run(layout: Layout, config: GenerateConfig) -> Report:
    model = config.require_model()
    result = run_generation(layout, config)
    report = Report(stage="generate", config_dir=layout.generations(model), details={"result": result})
    if result.status != "done":  # skipped (complete) or a verdict table this stage did not write
        report.summary = result.message
        return report
    lines = [format_summary(result.summary), f"verdicts: {result.verdicts_path}"]
    report.files = [result.verdicts_path, layout.generation_summary(model)]
    if config.n > 1:
        lines.append(format_bucket_table(model, load_pass_rates(layout, model)))
        report.files.append(layout.passrates(model))
    report.summary = "\n".join(lines)
    return report
