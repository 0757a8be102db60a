"""String and number normalisation shared by gold handling and the fast equivalence path.

Everything here is pure, cheap and deterministic: it decides the easy pairs
(``"18"`` vs ``"$18.00"``, ``\\dfrac{1}{2}`` vs ``0.5``) in microseconds so only the
ambiguous ones reach math-verify.  Numbers are :class:`fractions.Fraction` so
``0.1 + 0.2`` style float noise never decides a verdict.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from fractions import Fraction

# ---------------------------------------------------------------------------- LaTeX clean-up
_SPACING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])|\\[!,;:> ]|\\displaystyle|\\limits|~")
_FRAC_VARIANTS = re.compile(r"\\[dt]frac(?![A-Za-z])")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree")
_TEXT_WRAP = re.compile(r"^\\(?:text|textbf|mathrm|mbox|textrm|mathbf)\{([^{}]*)\}$")
_TRAILING_UNIT = re.compile(r"\\(?:text|mbox|mathrm)\{\s*[A-Za-z][A-Za-z .]*\}$")
_BASE_SUBSCRIPT = re.compile(r"^(-?\d+)_\{?\(?(?:\d{1,2}|[A-Za-z])\)?\}?$")


# Unicode math that models type instead of LaTeX.
_UNICODE_MAP = {"−": "-", "–": "-", "⁄": "/", "∕": "/", "×": "\\times ", "·": "\\cdot ", "⋅": "\\cdot ",
                "π": "\\pi ", "∞": "\\infty ", "√": "\\sqrt ", "≤": "\\le ", "≥": "\\ge ", "≠": "\\ne ",
                "\u00a0": " ", "\u2009": " ", "\u202f": " "}
_UNICODE_MAP.update({chr(0x2080 + d): f"_{d}" for d in range(10)})  # subscript digits: 1112112₃
_UNICODE = re.compile("|".join(map(re.escape, _UNICODE_MAP)))


def strip_delimiters(s: str) -> str:
    """Remove surrounding whitespace, ``$...$``, ``\\(...\\)``, ``\\[...\\]`` and a trailing period."""
    s = s.strip()
    for _ in range(3):
        before = s
        s = s.strip().rstrip(".").strip()
        if len(s) >= 2 and s[0] == "$" and s[-1] == "$" and s.count("$") in (2, 4):
            s = s.strip("$")
        elif s.startswith("\\(") and s.endswith("\\)"):
            s = s[2:-2]
        elif s.startswith("\\[") and s.endswith("\\]"):
            s = s[2:-2]
        if s == before:
            break
    return s.strip()


def normalize_latex(s: str) -> str:
    """A canonical spelling for exact comparison: no spacing commands, ``\\dfrac``->``\\frac``, no spaces.

    Deliberately conservative: two strings that normalise equal are the same
    answer; two that differ go on to the numeric and symbolic checks.
    """
    if _PLAIN_NUM.match(s):  # the common case: already canonical
        return s.rstrip(".") if s.endswith(".") else s
    s = strip_delimiters(s)
    if s.count("$") == 1 and (s.startswith("$") or s.startswith("-$")):
        s = s.replace("$", "", 1)  # a currency sign, not a math delimiter
    s = s.replace("\\$", "")
    s = _UNICODE.sub(lambda m: _UNICODE_MAP[m.group(0)], s)
    m = _TEXT_WRAP.match(s)
    if m:
        s = m.group(1).strip()
    s = _SPACING.sub(" ", s)
    s = _FRAC_VARIANTS.sub(r"\\frac", s)
    s = _DEGREES.sub("", s)
    # Drop whitespace except between two letters ("\pi r", "no solution" keep one space):
    # removing it there would change what the LaTeX means or glue words into symbol products.
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"(?<![A-Za-z]) | (?![A-Za-z])", "", s)
    s = s.rstrip(".")
    # Base subscripts: the bundled MATH golds write "1112112_3".
    m = _BASE_SUBSCRIPT.match(s)
    if m:
        s = m.group(1)
    return s


def strip_trailing_unit(s: str) -> str:
    """``5\\text{ cm}`` -> ``5``."""
    return _TRAILING_UNIT.sub("", s).strip()


# ---------------------------------------------------------------------------- free symbols
_TEXT_GROUP = re.compile(r"\\(?:text|textbf|textit|mathrm|mbox|operatorname)\s*\{[^{}]*\}")
_COMMAND = re.compile(r"\\[A-Za-z]+")
# Names that denote numbers or functions of numbers when written without a backslash.
_NOT_FREE = {"e", "i", "pi", "sqrt", "frac", "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp",
             "arcsin", "arccos", "arctan", "mod", "pmod", "infty", "inf", "cdot", "times", "dfrac", "binom"}


def free_symbols(s: str) -> list[str]:
    """Letter runs in ``s`` that would be free variables (outside LaTeX commands and ``\\text{}``).

    ``x+1`` -> ``['x']``; ``2\\sqrt{3}`` -> ``[]``; ``5\\text{ cm}`` -> ``[]``; prose -> its words.
    """
    s = _COMMAND.sub(" ", _TEXT_GROUP.sub(" ", s))
    return [w for w in re.findall(r"[^\W\d_]+", s) if w not in _NOT_FREE]


# ---------------------------------------------------------------------------- numbers
_INT_GROUPED = r"\d{1,3}(?:,\d{3})+"
_PLAIN_NUM = re.compile(rf"^[+-]?(?:{_INT_GROUPED}|\d+)?(?:\.\d+)?$")
_FRAC = re.compile(r"^([+-]?)\\frac\{([+-]?[\d.]+)\}\{([+-]?[\d.]+)\}$|^([+-]?)\\frac(\d)(\d)$")
_REPEATING = re.compile(r"^(-?)(\d*)\.(\d*)\\overline\{(\d+)\}$")
_MIXED = re.compile(r"^(-?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$")
_SLASH = re.compile(r"^([+-]?\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)$")


_SIMPLE_NUM = re.compile(r"^\s*\$?\s*(-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*$")


#: A digit string longer than this is not read as a number: Python refuses ``int()`` of more than
#: 4,300 digits, and such an "answer" is degenerate output (golds have a few dozen digits at most).
MAX_NUMBER_CHARS = 1000


def _plain(s: str) -> Fraction | None:
    if len(s) > MAX_NUMBER_CHARS:
        return None
    if s.isdigit():
        return Fraction(int(s))
    if not s or not _PLAIN_NUM.match(s) or not re.search(r"\d", s):
        return None
    try:
        return Fraction(s.replace(",", ""))
    except (ValueError, ZeroDivisionError):
        return None


def strict_number(s: str) -> Fraction | None:
    """The exact value of ``s`` if it is *only* a number: ``-12``, ``1,200``, ``0.5``, ``\\frac{3}{4}``, ``3/4``.

    ``s`` should already be normalised (no spaces).  Anything else (symbols,
    roots, percent signs, lists) returns ``None`` and is left to math-verify.
    """
    if not s or len(s) > 64:
        return None
    if s[0] == "(" and s[-1] == ")" and s.count("(") == 1:
        s = s[1:-1]
    if s.startswith("+"):
        s = s[1:]
    v = _plain(s)
    if v is not None:
        return v
    m = _FRAC.match(s)
    if m:
        sign, num, den = (m.group(1), m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5), m.group(6))
        n, d = _plain(num), _plain(den)
        if n is None or d is None or d == 0:
            return None
        v = n / d
        return -v if sign == "-" else v
    m = _REPEATING.match(s)
    if m:  # 0.1\overline{6}: math-verify drops the overline and reads 0.1
        sign, whole, fixed, rep = m.groups()
        v = Fraction(int(whole or "0")) + Fraction(int(fixed or "0"), 10 ** len(fixed))
        v += Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
        return -v if sign else v
    m = _MIXED.match(s)
    if m:  # 2\frac{1}{4} in an answer is the mixed number 2 1/4, not 2 * 1/4
        sign, whole, num, den = m.groups()
        if int(num) < int(den):
            v = int(whole) + Fraction(int(num), int(den))
            return -v if sign else v
        return None
    m = _SLASH.match(s)
    if m:
        n, d = _plain(m.group(1)), _plain(m.group(2))
        if n is None or d is None or d == 0:
            return None
        return n / d
    return None


_NUM_IN_TEXT = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
# Arithmetic that makes an answer an expression: an operator sign, a math command, or a binary minus.
_OPERATOR = re.compile(
    r"[+*/^×÷·]|\\(?:times|cdot|div|sqrt|frac|pi|binom|log|ln|exp|sin|cos|tan)(?![A-Za-z])"
    r"|(?<=[\w)}\]])\s*[-−–]\s*(?=[\w({\[\\])"
)
# "m/s", "miles/hour": a unit, not a division.  Starts only at a word's start (linear on long words).
_RATE = re.compile(r"(?<![A-Za-z])[A-Za-z]++\s*+/\s*+[A-Za-z]++")
# "=" that is not part of "<=", ">=", "!=", "==".
_EQUALS = re.compile(r"(?<![<>!=])=(?!=)")
# Trailing unit words: "\\frac{3}{4} cups", "$25,000/year" (possessive: no backtracking on long words).
_TRAILING_WORDS = re.compile(r"(?:\s*+/?\s*+(?:\\text\{[^{}]*+\}|[A-Za-z][A-Za-z\-./]*+))++\s*+$")
_CURRENCY_PERCENT = re.compile(r"^\$|(?<=\d)%$|^\\\$")
_MAX_UNIT_SCAN = 200  # only short answers are "a number and its unit"


def is_expression(s: str) -> bool:
    """True when ``s`` is a math expression, not prose: ``2^{10}``, ``\\sqrt{2}``, ``x+3``, ``27+18``.

    It has arithmetic (an operator, ``\\sqrt``/``\\frac``/..., a binary minus) and no word of
    two or more letters outside LaTeX commands (``5 pounds/day``, ``Jack has $120 now`` are prose).
    Unit rates between letters (``55 m/s``) are not division.
    """
    if not _OPERATOR.search(_RATE.sub(" ", s)):
        return False
    return not any(len(w) > 1 for w in free_symbols(s))


def lenient_number(s: str) -> Fraction | None:
    """The number a GSM8K-style answer states: ``$1,200`` -> 1200, ``18 dollars`` -> 18, ``25%`` -> 25.

    In order: a whole-string number (incl. fractions, currency, percent, trailing unit words);
    the value after the last ``=`` (``5 * 4 = 20`` -> 20); for prose, the last number in the text
    (``Jack has $120 now`` -> 120).  A math expression (:func:`is_expression`: ``2^{10}``,
    ``\\sqrt{2}``, ``x+3``) is never reduced to one of its numbers: it gives ``None`` so the caller
    compares it as what it is.  ``None`` also when there is no digit.
    """
    m = _SIMPLE_NUM.match(s)
    if m:  # the common case ("18", "-3.5", "1,200"): skip the LaTeX clean-up
        return _plain(m.group(1))
    s = strip_delimiters(s)
    v = strict_number(_CURRENCY_PERCENT.sub("", strip_trailing_unit(normalize_latex(s))))
    if v is not None:
        return v
    core = s  # the answer without its unit words: "2^{10} cups" is still an expression
    tail = _TRAILING_WORDS.search(s) if len(s) <= _MAX_UNIT_SCAN else None
    # Only real words are units: the "x" of "4750 / x" is a variable, and "m/s" alone is left as it is.
    if tail is not None and tail.start() > 0 and re.search(r"[A-Za-z]{2}", tail.group(0)):
        core = s[: tail.start()]
        v = strict_number(_CURRENCY_PERCENT.sub("", normalize_latex(core)))
        if v is not None:
            return v
    parts = _EQUALS.split(s)
    if len(parts) > 1 and parts[-1].strip():
        return lenient_number(parts[-1])  # "5 * 4 = 20": the stated result (it holds no "=": one level deep)
    if is_expression(core):
        return None
    found = _NUM_IN_TEXT.findall(s.replace("\\!", "").replace("{,}", ","))
    for tok in reversed(found):
        tok = tok.rstrip(",")
        if not re.fullmatch(rf"-?(?:{_INT_GROUPED}|\d+)(?:\.\d+)?|-?\.\d+", tok):
            tok = tok.replace(",", "")  # "1,20" is not a thousands group: keep the digits
        v = _plain(tok.replace(",", "")) if tok else None
        if v is not None:
            return v
    return None


def plain_number(s: str) -> Fraction | None:
    """The value of a plain decimal number up to :data:`MAX_NUMBER_CHARS` long (``strict_number`` stops at 64)."""
    return _plain(s) if _PLAIN_NUM.match(s) else None


_LIST = re.compile(r"^[(\[{]?([^()\[\]{}]+)[)\]}]?$")


def number_list(s: str) -> list[Fraction] | None:
    """``-1,1`` / ``(2,1)`` / ``\\{1,2\\}`` -> the numbers, when every item is a plain number; else None."""
    s = s.replace("\\{", "{").replace("\\}", "}")
    m = _LIST.match(s)
    if not m or ("," not in m.group(1) and ";" not in m.group(1)):
        return None
    out = []
    for part in re.split(r"[,;]", m.group(1)):
        v = strict_number(part)
        if v is None:
            return None
        out.append(v)
    return out


def numbers_equal(a: Fraction, b: Fraction, rel_tol: float = 1e-6) -> bool:
    """Exact for integers and exact fractions; relative tolerance ``rel_tol`` otherwise (rounded decimals)."""
    if a == b:
        return True
    scale = max(abs(a), abs(b), Fraction(1))
    return abs(a - b) <= Fraction(rel_tol) * scale


def format_number(v: Fraction) -> str:
    """A canonical string for a number: ``18``, ``-2.5``, ``1/3``."""
    if v.denominator == 1:
        return str(v.numerator)
    # Terminating decimals read better as decimals.
    d = v.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        digits = len(str(v.numerator)) + len(str(v.denominator)) + 5
        with localcontext() as ctx:
            ctx.prec = digits  # enough for the exact decimal expansion
            return format(Decimal(v.numerator) / Decimal(v.denominator), "f")
    return f"{v.numerator}/{v.denominator}"
