"""Grade many (completion, gold) rows with the released semantics: extraction and the sympy-free front here,
the rest in killable worker processes (:class:`ddcf.verify.workers.MathVerifyWorkers` with ``check='reference'``).

Each distinct (prediction, gold) pair is decided once per grader.  A pair whose sympy work outlives the hard
limit (``--timeout``) is 'timeout' and not correct, as the released code's 2-second child process would have
said; the released rule itself (2 s for the last sympy check) holds inside the worker.
"""

from __future__ import annotations

from typing import Sequence

from ddcf.verify.config import DEFAULT_TIMEOUT_S
from ddcf.verify.equivalence import Verdict
from ddcf.verify.reference.equal import front
from ddcf.verify.reference.extract import extract_answer, reference_gold
from ddcf.verify.workers import MathVerifyWorkers


class ReferenceGrader:
    """Verdicts of the released grader.  Use as a context manager (or :meth:`close`) to end the workers."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_S, workers: int | None = None, last_number: bool = False):
        self.timeout = float(timeout)
        self.workers = workers
        self.last_number = last_number  # released stage 1: False; released evaluation: True
        self._memo: dict[tuple[str, str], Verdict] = {}
        self._procs = None
        self.stats = {"pairs": 0, "front": 0, "sympy": 0, "timeouts": 0, "errors": 0}

    def close(self) -> None:
        if self._procs is not None:
            self._procs.close()
            self._procs = None

    def __enter__(self) -> "ReferenceGrader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
        """Verdicts for (extracted prediction, gold as given) pairs, in order."""
        todo: list[tuple[str, str]] = []
        for pair in dict.fromkeys((p, reference_gold(g)) for p, g in pairs):
            if pair in self._memo:
                continue
            try:
                v = front(*pair)
            except Exception:  # noqa: BLE001 - an odd text must not stop the run: it is "not verified"
                self.stats["errors"] += 1
                self._memo[pair] = Verdict(False, "error", "reference")
                continue
            if v is None:
                todo.append(pair)
            else:
                self.stats["front"] += 1
                self._memo[pair] = Verdict(v, "ok", "reference")
        if todo:
            if self._procs is None:
                self._procs = MathVerifyWorkers(workers=self.workers, timeout=self.timeout, check="reference")
            for pair, out in zip(todo, self._procs.run(todo)):
                self.stats["sympy"] += 1
                self.stats["timeouts"] += out.status == "timeout"
                self.stats["errors"] += out.status == "error"
                self._memo[pair] = Verdict(out.correct, out.status, "reference-sympy")
        self.stats["pairs"] += len(pairs)
        return [self._memo[(p, reference_gold(g))] for p, g in pairs]

    def grade(self, completions: Sequence[str], golds: Sequence[str]) -> tuple[list[str], list[Verdict]]:
        """(prediction, verdict) per completion; an empty prediction is status 'no_answer'."""
        preds = [extract_answer(c, self.last_number) for c in completions]
        verdicts = self.check(list(zip(preds, golds)))
        out = [Verdict(False, "no_answer", "reference") if not p and not v.correct else v
               for p, v in zip(preds, verdicts)]
        return preds, out


#: provenance of a verdict table graded with ``--grader reference`` (a strict table is then stale, and back)
REFERENCE_VERSION = "ddcf-reference/1+iNLP-Lab/DDCF@434f9d5"


def regrade(verdicts, rows, *, timeout: float = DEFAULT_TIMEOUT_S, workers: int | None = None):
    """Stage 1 with ``--grader reference``: the verdict table with its math rows graded by the released grader.

    ``rows`` are the verdicts' rows (0..n-1); prediction, correct and status of those rows are replaced, as the
    released stage 1 grades (no last-number fallback).  Other rows (other answer types) keep their verdicts.
    """
    rows = list(rows)
    if not rows:
        return verdicts
    out = verdicts.copy()
    sub = out.iloc[rows]
    with ReferenceGrader(timeout=timeout, workers=workers, last_number=False) as g:
        preds, vs = g.grade(sub["completion"].astype(str).tolist(), sub["gold"].astype(str).tolist())
    cols = [out.columns.get_loc(c) for c in ("prediction", "correct", "status")]
    out.iloc[rows, cols[0]] = [p or None for p in preds]
    out.iloc[rows, cols[1]] = [v.correct for v in vs]
    out.iloc[rows, cols[2]] = [v.status for v in vs]
    return out
