"""One colour per selection, the same on every figure of a report.

Colours are assigned once, in the order the selections were given (the order of the table and of report.json),
from a qualitative palette; grey is reserved for the whole corpus and never given to a selection.  Every figure
takes the mapping from :func:`selection_colours` instead of letting matplotlib cycle its own colours, which
restart in each figure (blue was one selection in the composition chart and another on the sweep).
"""

from __future__ import annotations

#: tab10 without its grey, then the lighter tab20 shades: 17 distinguishable colours before any repeat
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
           "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d")
CORPUS = "#9a9a9a"


def selection_colours(labels: list[str]) -> dict[str, str]:
    """label -> colour, by position (a report of more than 17 selections repeats colours, in order)."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}
