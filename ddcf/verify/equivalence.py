"""Is a prediction equivalent to the gold answer?  Fast paths first, math-verify for the rest.

Order of checks for one (prediction, gold) pair, cheapest first:

1. in-memory memo of this run;
2. ``exact``: the normalised strings are equal (``\\dfrac{1}{2}`` vs ``\\frac{1}{2}``);
3. ``numeric``: both sides are plain numbers (incl. ``\\frac{a}{b}``, ``1,200``) -> compare values;
   GSM8K-style pairs always end here (their golds are numbers);
   ``symbolic``: the gold is a number and the prediction has free variables or is prose -> False;
4. ``cache``: the persistent Parquet cache of earlier math-verify verdicts;
5. ``math-verify`` in killable worker processes (:mod:`ddcf.verify.workers`) with a hard limit per pair.

Verdicts are a pure function of (normalised prediction, normalised gold,
verifier version), except that a pair which timed out is retried under a
larger limit.
"""

from __future__ import annotations

import heapq
import re
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Sequence

from ddcf.runtime import progress as progress_bar
from ddcf.verify.cache import VerifyCache
from ddcf.verify.config import DEFAULT_TIMEOUT_S
from ddcf.verify.gold import GSM8K
from ddcf.verify.normalize import (
    format_number,
    free_symbols,
    lenient_number,
    normalize_latex,
    number_list,
    numbers_equal,
    plain_number,
    strict_number,
    strip_trailing_unit,
)
from ddcf.verify.workers import MathVerifyWorkers

# Bump LOGIC_VERSION when extraction or normalisation changes a verdict (verdict tables made by
# an older version are then re-verified on resume).  Bump CHECK_VERSION when what the workers do
# with a (prediction, gold) key pair changes (old persistent-cache rows are then ignored).
LOGIC_VERSION = "2"  # 2: GSM8K expressions are no longer graded by their last number
CHECK_VERSION = "1"
MAX_KEY_CHARS = 20000  # longer "answers" are degenerate output; cut so cache rows stay bounded
#: A math-verify run writes the persistent cache this often (seconds) at most, so a killed run
#: loses at most this much checking; never more often than 10x the time one save takes (a big
#: cache costs more to rewrite), which keeps the saving under ~10% of the run.
FLUSH_EVERY_S = 1.0


def _math_verify_version() -> str:
    try:
        return metadata.version("math-verify")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "missing"


def verifier_version() -> str:
    """Provenance of a verdict: our extraction/normalisation logic and the math-verify release."""
    return f"ddcf-verify/{LOGIC_VERSION}+math-verify-{_math_verify_version()}"


def cache_version() -> str:
    """What the persistent cache's rows depend on: the worker check and the math-verify release."""
    return f"ddcf-check/{CHECK_VERSION}+math-verify-{_math_verify_version()}"


@dataclass(frozen=True)
class Verdict:
    correct: bool
    status: str  # 'ok' | 'timeout' | 'error'
    method: str  # 'exact' | 'numeric' | 'symbolic' | 'cache' | 'math-verify' | 'fast-path' (it raised)


# ---------------------------------------------------------------------------- keys
_NUMBER_WITH_WORDS = re.compile(r"^\s*\$?\s*(-?[\d,]*\.?\d+)\s*(?:[A-Za-z]{3,}\.?\s*){1,4}$")


def prediction_key(pred: str, style: str, gold_key: str) -> str:
    """The normalised prediction the verdict (and the cache) is keyed on."""
    pred = pred[:MAX_KEY_CHARS]
    if style == GSM8K:
        v = lenient_number(pred)
        return format_number(v) if v is not None else normalize_latex(pred)
    m = _NUMBER_WITH_WORDS.match(pred) if len(pred) <= 200 else None  # bounded: the regex backtracks on digit runs
    if m:  # "47 degrees", "1152 cups of flour": a number with a unit word
        pred = m.group(1)
    key = normalize_latex(pred)
    if "=" in key and "=" not in gold_key and "\\le" not in key and "\\ge" not in key and "," not in key:
        rhs = key.rsplit("=", 1)[1]  # "x=3", "28+9=37": the value after the last "="
        if rhs and not rhs.startswith(("<", ">")):
            key = rhs
    return key


def gold_key(gold_normalized: str, style: str) -> str:
    return normalize_latex(gold_normalized)[:MAX_KEY_CHARS]


_ONLY_DIGITS = re.compile(r"^-?\d++(?:\.\d++)?$")  # possessive: linear on long digit runs
_HAS_DELIMS = re.compile(r"\$|\\\(|\\\[|\\boxed|\\fbox")


def fast_verdict(pred_key: str, gold_key_: str, style: str) -> Verdict | None:
    """Decide the pair without sympy when possible; ``None`` means "ask math-verify"."""
    if pred_key == gold_key_ and pred_key:
        return Verdict(True, "ok", "exact")
    gn = strict_number(gold_key_)
    pn = strict_number(pred_key)
    if pn is None:
        pn = strict_number(strip_trailing_unit(pred_key))
    if pn is not None and gn is not None:
        return Verdict(numbers_equal(pn, gn), "ok", "numeric")
    if gn is not None and pn is None:
        long_number = plain_number(pred_key)  # a plain number too long for strict_number: compare exactly
        if long_number is not None or _ONLY_DIGITS.match(pred_key):  # beyond MAX_NUMBER_CHARS: degenerate
            return Verdict(long_number is not None and numbers_equal(long_number, gn), "ok", "numeric")
    # A GSM8K expression answer (2^{10}, \sqrt{2}, x+3) goes on like a MATH one: compared as
    # what it is, never by the last number in it.
    if gn is not None:
        items = number_list(pred_key)
        if items is not None:  # "-1,1" vs "1": a set equals a number only if all its items do (as math-verify)
            return Verdict(all(numbers_equal(v, gn) for v in items), "ok", "numeric")
    if gn is not None and not _HAS_DELIMS.search(pred_key) and free_symbols(pred_key):
        # A number never equals an expression in free variables (or prose): math-verify says
        # False for these too, after up to seconds of sympy work each.
        return Verdict(False, "ok", "symbolic")
    return None


# ---------------------------------------------------------------------------- verifier
@dataclass
class VerifyStats:
    pairs: int = 0  # pairs asked for (with repeats)
    distinct: int = 0
    exact: int = 0
    numeric: int = 0
    symbolic: int = 0
    memo_hits: int = 0
    cache_hits: int = 0
    math_verify: int = 0
    timeouts: int = 0
    errors: int = 0
    kills: int = 0
    math_verify_seconds: float = 0.0
    slowest: list = field(default_factory=list)  # heap of (seconds, pred, gold, status)

    def note_slow(self, seconds: float, pred: str, gold: str, status: str, keep: int = 10) -> None:
        item = (seconds, pred[:200], gold[:200], status)
        if len(self.slowest) < keep:
            heapq.heappush(self.slowest, item)
        elif item > self.slowest[0]:
            heapq.heapreplace(self.slowest, item)


class Verifier:
    """Checks (prediction, gold) pairs; owns the worker processes and the caches.

    Use as a context manager (or call :meth:`close`) so worker processes end
    and the persistent cache is written.
    """

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT_S,
        workers: int | None = None,
        cache_path: str | Path | None = None,
        progress: bool = True,
        batch_size: int = 16,
        flush_every_s: float = FLUSH_EVERY_S,
    ):
        if not (timeout > 0):
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.timeout = float(timeout)
        self.workers = workers
        self.batch_size = batch_size
        self.flush_every_s = float(flush_every_s)
        self.progress = progress
        self.version = verifier_version()
        self.cache = VerifyCache(cache_path, cache_version())
        self._memo: dict[tuple[str, str, str], Verdict] = {}
        self._procs = None
        self.stats = VerifyStats()

    # -------------------------------------------------------------- lifecycle
    def _get_procs(self):
        if self._procs is None:
            self._procs = MathVerifyWorkers(workers=self.workers, timeout=self.timeout, batch_size=self.batch_size)
        return self._procs

    def close(self) -> None:
        if self._procs is not None:
            self._procs.close()
            self._procs = None
        self.cache.save()

    def __enter__(self) -> "Verifier":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------------- checking
    def check(self, pairs: Sequence[tuple[str, str, str]]) -> list[Verdict]:
        """Verdicts for ``(pred_key, gold_key, style)`` triples (keys from :func:`prediction_key`/:func:`gold_key`)."""
        self.stats.pairs += len(pairs)
        distinct = list(dict.fromkeys(pairs))
        need: list[tuple[str, str]] = []
        need_triples: list[tuple[str, str, str]] = []
        for triple in distinct:
            if triple in self._memo:
                self.stats.memo_hits += 1
                continue
            self.stats.distinct += 1
            p, g, style = triple
            try:
                v = fast_verdict(p, g, style)
            except Exception:  # noqa: BLE001 - one odd pair must not stop the run: it is "not verified"
                self.stats.errors += 1
                self._memo[triple] = Verdict(False, "error", "fast-path")
                continue
            if v is not None:
                setattr(self.stats, v.method, getattr(self.stats, v.method) + 1)
                self._memo[triple] = v
                continue
            hit = self.cache.get(p, g, self.timeout)
            if hit is not None:
                self.stats.cache_hits += 1
                self._memo[triple] = Verdict(hit[0], hit[1], "cache")
                continue
            need.append((p, g))
            need_triples.append(triple)
        if need:
            self._run_math_verify(need, need_triples)
        return [self._memo[t] for t in pairs]

    def _run_math_verify(self, need: list[tuple[str, str]], triples: list[tuple[str, str, str]]) -> None:
        # Sorted order: the same work is batched the same way every run.
        order = sorted(range(len(need)), key=lambda i: need[i])
        need = [need[i] for i in order]
        triples = [triples[i] for i in order]
        procs = self._get_procs()
        bar = progress_bar(
            total=len(need), desc="math-verify", unit="pair", enabled=self.progress, mininterval=0.5, leave=False
        )

        last_save = [time.monotonic(), 0.0]  # when the cache was last written, how long that took

        def on_result(i, out):
            bar.update(1)
            p, g = need[i]
            self.cache.put(p, g, out.correct, out.status, self.timeout)
            # Keep new entries as they are made: a run killed now still leaves them for the rerun.
            now = time.monotonic()
            if now - last_save[0] >= max(self.flush_every_s, 10 * last_save[1]):
                self.cache.save()
                last_save[0] = time.monotonic()
                last_save[1] = last_save[0] - now

        kills_before = procs.kills
        try:
            outcomes = procs.run(need, on_result=on_result)
        finally:
            bar.close()
        self.stats.kills += procs.kills - kills_before
        for (p, g), triple, out in zip(need, triples, outcomes):
            self.stats.math_verify += 1
            self.stats.math_verify_seconds += out.seconds
            self.stats.timeouts += out.status == "timeout"
            self.stats.errors += out.status == "error"
            self.stats.note_slow(out.seconds, p, g, out.status)
            self._memo[triple] = Verdict(out.correct, out.status, "math-verify")
        self.cache.save()  # checkpoint: a later crash does not lose this work
