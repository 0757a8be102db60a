"""The one shape every stage has: ``run(layout, config) -> Report``, driven by a :class:`StageCommand`.

A stage is a package ``ddcf/<stage>/`` with

* ``config.py``: one dataclass (a :class:`ddcf.config.StageConfig`), the only place a default or a
  help text is written;
* ``stage.py``: ``run(layout, config) -> Report``; it reads and writes artifacts only through
  :class:`ddcf.layout.Layout` and never prints its summary itself;
* ``cli.py``: ``command = StageCommand(...)``, the parser derived from the dataclass.

The top-level scripts (``infer.py`` ...) and the ``ddcf`` console command both call
``command.main``; so does a test.  ``StageCommand`` parses flags and ``--config``, runs the
stage, writes the resolved config beside the outputs and prints the report.
"""

from __future__ import annotations

import importlib
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ddcf.config import build_parser, parse_config, write_resolved_config
from ddcf.layout import Layout


@dataclass
class Report:
    """What a stage run did: the files it wrote, its warnings and a one-screen summary."""

    stage: str
    summary: str = ""
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: folder that receives ``<stage>.config.yaml`` (None: the stage wrote nothing to repeat)
    config_dir: Path | None = None
    #: stage-specific results (metrics, counts) for callers and tests
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    exit_code: int = 0

    def render(self, width: int = 100) -> str:
        lines = [self.summary.rstrip()] if self.summary else []
        for w in self.warnings:
            lines.append(textwrap.fill(f"warning: {w}", width=width, subsequent_indent="  "))
        if len(self.files) <= 10:
            lines.extend(["wrote:"] + [f"  {p}" for p in self.files] if self.files else [])
        else:  # e.g. one verdict table per model: one line per folder
            lines.append(f"wrote {len(self.files)} files:")
            by_dir: dict[Path, list[str]] = {}
            for p in map(Path, self.files):
                by_dir.setdefault(p.parent, []).append(p.name)
            for folder, names in by_dir.items():
                more = f" and {len(names) - 5} more" if len(names) > 5 else ""
                lines.append(f"  {folder}/: {', '.join(names[:5])}{more}")
        return "\n".join(lines)


def import_attr(spec: str) -> Callable:
    """``"package.module:name"`` -> the object (imported only when a stage actually runs)."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class StageCommand:
    """A stage's command line: ``config`` is its dataclass, ``run`` names its ``run`` function lazily
    (so ``--help`` never imports torch or pandas), ``prog`` is the script users type."""

    stage: str
    config: type
    run: str
    prog: str

    def build_parser(self, prog: str | None = None):
        return build_parser(self.config, prog or self.prog)

    def parse(self, argv: Sequence[str] | None = None, prog: str | None = None):
        return parse_config(self.config, argv, prog or self.prog)[0]

    def main(self, argv: Sequence[str] | None = None, prog: str | None = None) -> int:
        return self.execute(self.parse(argv, prog), prog)

    def execute(self, config, prog: str | None = None) -> int:
        layout = Layout.from_arg(config.workdir)
        report = import_attr(self.run)(layout, config)
        if report.config_dir is not None:
            path = layout.resolved_config(report.config_dir, self.stage)
            report.files.append(write_resolved_config(config, path, self.stage, prog or self.prog))
        print()
        print(report.render())
        return report.exit_code
