"""The sympy half of the released comparison.  Imported only inside worker processes (``_worker.py
--check reference``): sympy can spin in C code without end, and only killing the process bounds it.

Parsing tries, per side, sympy's ``parse_expr`` and then a LaTeX parser, first on the text with ``\\\\``
read as ``\\`` and then on the text as is; a side nothing parses stays text.  Two sides are equal when their
texts or values are equal, ``simplify(a - b) == 0``, two equations have the same ``|lhs - rhs|``, their
numeric values agree within 1% relative, or two matrices agree to 3 decimals.

Differences from the released code, each with its reason:

* sympy's ``parse_latex``, first in the released list, is skipped: under the released pins (latex2sympy2
  1.9.1 needs antlr4 4.7.2, sympy's LaTeX parser 4.11) it always raises ImportError, so it never decided.
* the LaTeX parser is ``latex2sympy2_extended`` (math-verify's, pinned here) with its own normalisation off,
  not ``latex2sympy2`` 1.9.1 (its antlr4 pin conflicts with ours); rare inputs parse differently.
* ``parse_expr`` evaluates Python: we refuse texts with ``__``, quotes, ``;``, ``lambda`` or attribute access
  and give it sympy's names plus a few harmless builtins only (no ``open``, ``exec``, ``__import__``...),
  so a completion cannot run code; such texts count as unparsed (the released code would have run them).
"""

from __future__ import annotations

import math
import re
import signal
import time

import sympy
from sympy.parsing.sympy_parser import parse_expr

from ddcf.verify.reference.equal import math_equal

#: the released final sympy check runs in a child process given this many seconds (then: not equal)
FINAL_LIMIT_S = 2.0
_UNSAFE = re.compile(r"__|['\"`;]|\blambda\b|\.\s*[A-Za-z_]")
_SAFE_BUILTINS = ("abs", "all", "any", "bin", "chr", "divmod", "hex", "len", "oct", "ord", "pow", "round", "sorted",
                  "sum")
_NAMES: dict | None = None


def _names() -> dict:
    global _NAMES
    if _NAMES is None:
        import builtins

        names = {n: getattr(sympy, n) for n in sympy.__all__ if hasattr(sympy, n)}
        names.update({n: getattr(builtins, n) for n in _SAFE_BUILTINS})
        names.update({"max": sympy.Max, "min": sympy.Min, "__builtins__": {}})
        _NAMES = names
    return _NAMES


def _python(s: str):
    if _UNSAFE.search(s):
        raise ValueError("refused")
    return parse_expr(s, global_dict=dict(_names()))


def _latex(s: str):
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    return latex2sympy(s, normalization_config=None, conversion_config=ConversionConfig(
        interpret_as_mixed_fractions=False, interpret_contains_as_eq=False, lowercase_symbols=False))


def parse(s: str):
    for reader in (_python, _latex):
        for text in (s.replace("\\\\", "\\"), s):
            try:
                return reader(text)
            except Exception:  # noqa: BLE001 - any parser failure means "try the next reading"
                continue
    return s


def symbolic_equal(a: str, b: str) -> bool:
    x, y = parse(a), parse(b)
    checks = (
        lambda: str(x) == str(y) or x == y,
        lambda: x.equals(y) or sympy.simplify(x - y) == 0,
        lambda: abs(x.lhs - x.rhs).equals(abs(y.lhs - y.rhs)),
        lambda: math.isclose(float(sympy.N(y)), float(sympy.N(x)), rel_tol=1e-2),
        lambda: x.shape == y.shape and x.applyfunc(lambda v: round(v, 3)).equals(y.applyfunc(lambda v: round(v, 3))),
    )
    for check in checks:
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001 - the released code treats any failure of a check as "not this way"
            continue
    return False


class _FinalTimeout(BaseException):
    pass


def _raise_final(signum, frame):
    raise _FinalTimeout()


def timed_symbolic_equal(a: str, b: str) -> bool:
    """:func:`symbolic_equal` within :data:`FINAL_LIMIT_S` seconds, else False (the released top-level rule).

    The worker's own per-pair alarm is suspended meanwhile and re-armed with what is left of it; when less than
    the final limit is left, the pair's own limit stays in charge (and ends the pair as 'timeout').
    """
    outer_handler = signal.getsignal(signal.SIGALRM)
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    if 0 < left <= FINAL_LIMIT_S:
        return symbolic_equal(a, b)
    t0 = time.monotonic()
    signal.signal(signal.SIGALRM, _raise_final)
    signal.setitimer(signal.ITIMER_REAL, FINAL_LIMIT_S)
    try:
        return symbolic_equal(a, b)
    except _FinalTimeout:
        return False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if left > 0:
            signal.setitimer(signal.ITIMER_REAL, max(left - (time.monotonic() - t0), 0.001))


def check_pair(pred: str, gold: str) -> bool:
    """The full released verdict for an extracted prediction and a gold (the worker's entry point)."""
    return math_equal(pred, gold, symbolic_equal, timed_symbolic_equal)
