"""One-screen summary of a whole pipeline run, read back from the artifacts.

    python -m ddcf.summary --workdir demo_run --model_name Meta-Llama-3-8B-Instruct
    ddcf summary --workdir demo_run --model_name Meta-Llama-3-8B-Instruct

It reads only files, through :class:`ddcf.layout.Layout` (so it also works on a run made
stage by stage, days apart), and says which stage to run next when an artifact is missing.
Options: :mod:`ddcf.summary.config`; the text: :func:`ddcf.summary.stage.render`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ddcf.summary.stage import render

__all__ = ["render"]


def __getattr__(name: str):
    # `from ddcf.summary import render` without importing pandas when only the options are needed (--help)
    if name == "render":
        from ddcf.summary.stage import render

        return render
    raise AttributeError(f"module 'ddcf.summary' has no attribute {name!r}")
