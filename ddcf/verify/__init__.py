"""Answer verification: extract a completion's final answer and check it against the gold.

Public API (kept stable for the generation stage)::

    from ddcf.verify import grade_completions, write_verdicts, Verifier, extract_answer

Submodules: ``extract`` (named filter chains), ``gold`` (gold normalisation),
``normalize`` (string/number canonical forms), ``equivalence`` (fast paths +
:class:`Verifier`), ``pool`` (killable math-verify workers), ``cache``
(persistent verdict cache), ``grade`` (tables in, verdict tables out),
``summary`` (accuracy tables).  Imports are lazy so ``import ddcf.verify`` is cheap.
"""

from __future__ import annotations

_EXPORTS = {
    "grade_completions": "ddcf.verify.grade",
    "write_verdicts": "ddcf.verify.grade",
    "completions_fingerprint": "ddcf.verify.grade",
    "VERDICT_COLUMNS": "ddcf.verify.grade",
    "Verifier": "ddcf.verify.equivalence",
    "Verdict": "ddcf.verify.equivalence",
    "verifier_version": "ddcf.verify.equivalence",
    "extract_answer": "ddcf.verify.extract",
    "register_filter": "ddcf.verify.extract",
    "register_chain": "ddcf.verify.extract",
    "FilterChain": "ddcf.verify.extract",
    "normalize_gold": "ddcf.verify.gold",
    "grading_style": "ddcf.verify.gold",
    "summarize_verdicts": "ddcf.verify.summary",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ddcf.verify' has no attribute {name!r}")
