"""The install step's ``run``: the bundled question tables (and the shipped corpus vectors) into a layout."""

from __future__ import annotations

import time

from ddcf.artifacts.corpus import describe_duplicates
from ddcf.bundled.config import InstallConfig
from ddcf.bundled.files import install_bundled_embedding_cache, install_bundled_questions
from ddcf.layout import Layout
from ddcf.pipeline import Report


def run(layout: Layout, config: InstallConfig) -> Report:
    t0 = time.perf_counter()
    counts = install_bundled_questions(layout, keep_duplicates=config.keep_duplicates)
    lines = [
        f"Stage 0 - bundled questions: {counts['seed_questions']} seed -> {layout.seed_questions}",
        f"                             {counts['corpus_questions']} corpus -> {layout.corpus_questions} "
        f"({describe_duplicates(counts)})",
    ]
    files = [layout.seed_questions, layout.corpus_questions]
    details = dict(counts)
    warnings: list[str] = []
    if not config.no_embedding_cache:
        n = install_bundled_embedding_cache(layout, warnings)
        details["shipped_vectors"] = n
        files.append(layout.embedding_shards)
        lines.append(f"                             {n} shipped corpus vectors (all-MiniLM-L6-v2) -> "
                     f"{layout.embedding_shards}")
    return Report(stage="install_bundled", summary="\n".join(lines), files=files, warnings=warnings,
                  config_dir=layout.data, details=details, seconds=time.perf_counter() - t0)
