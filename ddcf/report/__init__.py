"""``ddcf report``: figures, one static index.html and report.md comparing selections made on one corpus.

Modules: :mod:`~ddcf.report.config`, :mod:`~ddcf.report.stage`, :mod:`~ddcf.report.cli` (the stage shape);
:mod:`~ddcf.report.selections` (reading selection folders, the same-corpus check), :mod:`~ddcf.report.projection`
(the cached 2-D map), :mod:`~ddcf.report.metrics` (the comparison table), :mod:`~ddcf.report.sweep` (the lambda
sweep), :mod:`~ddcf.report.overlap` (Jaccard, model families), :mod:`~ddcf.report.figures` (PNGs),
:mod:`~ddcf.report.html` (index.html and report.md).
"""
