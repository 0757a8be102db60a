"""The released comparison ``math_equal(prediction, gold)`` (eval/grader.py of iNLP-Lab/DDCF), without sympy.

Checks in order (the first that says True wins; some say False and end the comparison):

1. the texts are equal ignoring case and outer spaces;
2. the gold is a letter A-E and the prediction's last standalone A-E letter is it;
3. a prediction longer than 30 characters is wrong (False);
4. both sides get the Minerva normalisation (:func:`normalize_final_answer`, after a ``\\text{}`` list
   clean-up): then two numbers are equal within 1% relative, the gold also read x100 and /100 (False if not);
5. brackets and braces dropped, the texts are equal ignoring case;
6. intervals / tuples item by item, matrices entry by entry (each with this same function);
7. equations compared as ``lhs - (rhs)`` (either sign), ``x=...`` against a value;
8. sympy: :func:`ddcf.verify.reference.symbolic.symbolic_equal` (time-limited at the top level).

Sympy is reached only through the ``symbolic`` and ``final`` arguments, so this module runs anywhere;
:func:`front` answers what needs no sympy and says ``None`` for the rest.
"""

from __future__ import annotations

import math
import re
from typing import Callable

Symbolic = Callable[[str, str], bool]

# Minerva's normalisation as the released code edited it.  Replacements run in this order (each sees the
# result of the previous one); "an " is deleted before spaces are, and so on.
_SUBSTITUTE = (
    ("an ", ""), (".$", "$"), ("\\$", ""), (" ", ""), ("mbox", "text"), (",\\text{and}", ","),
    ("\\text{and}", ","), ("\\text{m}", "\\text{}"), ("\\left", ""), ("\\right", ""), ("∶", ":"), ("，", ","),
    ("$", ""), ("\\approx", "="), ("\\simeq", "="), ("\\sim", "="), ("^\\prime", "'"), ("^{\\prime}", "'"),
    ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("^\\circ", ""), ("\\%", ""), ("\u221a", "\\sqrt"),
    ("\u221e", "\\infty"), ("\u222a", "\\cup"), ("\\times", "*"),
    ("x \\in", ""), ("y \\in", ""), ("z \\in", ""), ("x\\in", ""), ("y\\in", ""), ("z\\in", ""),
)
# Deleted wherever they occur (so "sue" also inside "issue"), in this order.
_DELETE = (
    *"square ways integers dollars mph inches hours km units \\ldots sue points feet minutes digits cents "
     "degrees cm gm pounds meters meals edges students childrentickets multiples".split(),
    "\\text{s}", "\\text{.}", "\\text{\ns}", "\\text{}^2", "\\text{}^3", "\\text{\n}", "\\text{}",
    "\\mathrm{th}", "^\\circ", "^{\\circ}", "\\;", ",\\!", "{,}", '"', "\\dots", "°", "\\%", "x \\in ", "%",
)
_POW10_BRACED = re.compile(r"10\^\{([^}]+)\}")
_POW10 = re.compile(r"10\^([A-Za-z0-9_]+)")
_UNWRAP = [re.compile(p) for p in (r"\\text\{(.*?)\}", r"\\textbf\{(.*?)\}", r"\\overline\{(.*?)\}")]
_BOXED_GREEDY = re.compile(r"\\boxed\{(.*)\}")
_FRAC_SHORT = re.compile(r"frac([^{])(.)")
_SQRT_SHORT = re.compile(r"sqrt([^{])")
_DOLLAR_PAIR = re.compile(r"(.*?)\$(.*?)\$(.*)")


def _strip_display(s: str) -> str:
    if s[:2] in ("\\(", "\\["):
        s = s[2:]
    if s[-2:] in ("\\)", "\\]"):
        s = s[:-2]
    return s


def normalize_final_answer(s: str) -> str:
    """Minerva's answer normalisation, as edited in the released grader (applied to both sides)."""
    s = _strip_display(s.strip())
    for old, new in _SUBSTITUTE:
        s = s.replace(old, new)
    s = _POW10.sub(r"10**\1", _POW10_BRACED.sub(r"10**\1", s))
    for t in _DELETE:
        s = s.replace(t, "")
    s = _DOLLAR_PAIR.sub(r"$\2$", s)  # every "$" is gone by now; kept so the order of steps stays the released one
    for p in _UNWRAP:
        s = p.sub(r"\1", s)
    s = _BOXED_GREEDY.sub(r"\1", s)
    s = _FRAC_SHORT.sub(r"frac{\1}{\2}", s)
    s = _SQRT_SHORT.sub(r"sqrt{\1}", s)
    s = s.replace("$", "")
    if s.replace(",", "").isdigit():
        s = s.replace(",", "")
    return _strip_display(s).strip()


def clean_entry(s: str) -> str:
    """A side with ``\\text{`` becomes a sorted comma list: ``\\text{(B), (A)}`` -> ``(A),(B)`` (order-free)."""
    if "\\text{" not in s:
        return s
    s = re.sub(r"\\text\{([^}]*)\}", r"\1", s)
    s = re.sub(r"\\\(|\\\)", "", s).replace("\\", "").strip()
    if s.startswith("(") and s.endswith(")"):
        s = s[1:-1].strip()
    return ",".join(sorted(x.strip() for x in s.split(",") if x.strip()))


def choice_letter(pred: str) -> str:
    """The prediction's last standalone letter A-E (upper-cased), else the prediction trimmed of dots."""
    pred = pred.strip("\n").rstrip(".").rstrip("/").strip(" ").lstrip(":")
    letters = re.findall(r"\b(A|B|C|D|E)\b", pred.upper())
    pred = letters[-1] if letters else pred.strip().strip(".")
    return pred.rstrip(".").rstrip("/")


def read_number(s: str) -> float | None:
    """Python's float() of the text without commas (so also "1e3", "inf", "1_000"); "p%" as p/100."""
    s = s.replace(",", "")
    try:
        return float(s)
    except ValueError:
        pass
    if s.endswith("%"):
        s = s[:-1].removesuffix("\\")
        try:
            return float(s) / 100
        except ValueError:
            pass
    return None


def close(a: float, b: float) -> bool:
    return math.isclose(b, a, rel_tol=1e-2)


def to_pmatrix(gold: str) -> str:
    """``{1,2}`` pieces of a gold as one-row ``pmatrix`` texts (commas become a lone backslash, as released)."""
    pieces = re.findall(r"\{.*,.*\}", gold.strip())
    return ", ".join("\\begin{pmatrix}" + m.strip("{}").replace(",", "\\") + "\\end{pmatrix}" for m in pieces)


_OPEN_PAIR = re.compile(r"(\(|\[).+(\)|\])")
_MATRIX_BEGIN = ("\\begin{pmatrix}", "\\begin{bmatrix}")
_MATRIX_END = ("\\end{pmatrix}", "\\end{bmatrix}")


def _is_matrix(s: str) -> bool:
    return s.startswith(_MATRIX_BEGIN) and s.endswith(_MATRIX_END)


def _matrix_rows(s: str) -> list[str]:
    body = s[len(_MATRIX_BEGIN[0]):-len(_MATRIX_END[0])]
    return [row.strip() for row in body.split("\\\\") if row.strip()]


def math_equal(pred: str | None, gold: str | None, symbolic: Symbolic, final: Symbolic | None = None) -> bool:
    """The released verdict.  ``symbolic(a, b)``: sympy equality; ``final``: the last, time-limited one.

    Parts of tuples and matrices and the value of ``x=...`` are compared by this function again with
    ``final=None`` (the released code calls itself without its time limit there).
    """
    if pred is None or gold is None:
        return False
    if pred.strip().lower() == gold.strip().lower():
        return True
    if gold in ("A", "B", "C", "D", "E") and choice_letter(pred) == gold:
        return True
    if len(pred) > 30:
        return False
    p = normalize_final_answer(clean_entry(pred))
    g = normalize_final_answer(clean_entry(gold))

    pv, gv = read_number(p), read_number(g)
    if pv is not None and gv is not None:
        return any(close(pv, x) for x in (gv / 100, gv, gv * 100))  # percent forms either way
    if not p:
        return False

    if "pmatrix" in p and "pmatrix" not in g:
        g = to_pmatrix(g)
    p_bare, g_bare = p, g
    if (p.startswith("[") and p.endswith("]") and not g.startswith("(")) or (
            p.startswith("(") and p.endswith(")") and not g.startswith("[")):
        p_bare, g_bare = p.strip("[]()"), g.strip("[]()")
    for ch in "{}()":
        p_bare, g_bare = p_bare.replace(ch, ""), g_bare.replace(ch, "")
    if p_bare.lower() == g_bare.lower():
        return True

    def again(a: str, b: str) -> bool:
        return math_equal(a, b, symbolic)

    if _OPEN_PAIR.match(p) and _OPEN_PAIR.match(g):  # (a,b) / [a,b) against (c,d): item by item
        p_items, g_items = p[1:-1].split(","), g[1:-1].split(",")
        if len(p_items) == len(g_items) and all(again(a, b) for a, b in zip(p_items, g_items)):
            return True
    if _is_matrix(p) and _is_matrix(g):
        p_rows, g_rows = _matrix_rows(p), _matrix_rows(g)
        if len(p_rows) == len(g_rows) and all(
                len(pr.split("&")) == len(gr.split("&")) and all(again(a, b) for a, b in zip(pr.split("&"),
                                                                                             gr.split("&")))
                for pr, gr in zip(p_rows, g_rows)):
            return True

    if p.count("=") == 1 and g.count("=") == 1:
        pl, pr = p.split("=")
        gl, gr = g.split("=")
        pd_, gd = f"{pl.strip()} - ({pr.strip()})", f"{gl.strip()} - ({gr.strip()})"
        if symbolic(pd_, gd) or symbolic(f"-({pd_})", gd):
            return True
    elif p.count("=") == 1 and len(p.split("=")[0].strip()) <= 2 and "=" not in g:
        if again(p.split("=")[1], g):
            return True
    elif g.count("=") == 1 and len(g.split("=")[0].strip()) <= 2 and "=" not in p:
        if again(p, g.split("=")[1]):
            return True

    return (final or symbolic)(p, g)


class NeedsSympy(BaseException):
    """Raised by :func:`front`'s stand-in for sympy: the pair must go to a worker.  A BaseException so no
    ``except Exception`` on the way can take it for a "not equal"."""


def _needs_sympy(a: str, b: str) -> bool:
    raise NeedsSympy


def front(pred: str, gold: str) -> bool | None:
    """The verdict when no sympy call is reached on the way, else ``None`` (ask a worker)."""
    try:
        return math_equal(pred, gold, _needs_sympy)
    except NeedsSympy:
        return None
