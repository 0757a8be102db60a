"""Clean-up of an extracted answer, as the released grader does it before comparing.

Every step matches the released ``strip_string`` (eval/parser.py of iNLP-Lab/DDCF, itself from Qwen2.5-Math),
in the same order, because each step works on the output of the one before (``and`` is deleted after
``\\text{}`` is unwrapped, spaces are removed only near the end, ...).  Quirks are kept on purpose and named
where they surprise: they decide verdicts of the published numbers.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------------------------- word numbers
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_VALUES: dict[str, int] = {w: i for i, w in enumerate(_UNITS)}
_VALUES.update({w: 20 + 10 * i for i, w in enumerate(_TENS)})
_VALUES.update({"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9})
_SCALES = ("billion", "million", "thousand")


def _group(words: list[str]) -> int:
    """Value of the words between two scale words, with the word2number 1.1 rules (only 1-4 words read)."""
    v = [_VALUES[w] for w in words]  # an empty group raises IndexError below: the whole conversion fails
    if len(v) == 4:
        return v[0] * v[1] + v[2] + v[3]
    if len(v) == 3:
        return v[0] * v[1] + v[2]
    if len(v) == 2:
        return v[0] * v[1] if 100 in v else v[0] + v[1]
    return v[0]


def words_to_number(text: str) -> int | float:
    """What ``word2number.w2n.word_to_num`` (1.1) returns for ``text``; ValueError/IndexError where it raises.

    It reads only the number words among the space-separated words and ignores the rest, so "no one"
    is 1 and a lone "point" is 0; those answers really were graded so.
    """
    s = text.replace("-", " ").lower()
    if s.isdigit():
        return int(s)
    words = [w for w in s.split() if w in _VALUES or w == "point"]
    if not words:
        raise ValueError("no number words")
    if any(words.count(w) > 1 for w in (*_SCALES, "point")):
        raise ValueError("repeated scale word")
    decimals: list[str] = []
    if "point" in words:
        at = words.index("point")
        words, decimals = words[:at], words[at + 1:]
    pos = {w: (words.index(w) if w in words else -1) for w in _SCALES}
    b, m, t = pos["billion"], pos["million"], pos["thousand"]
    if (t > -1 and (t < m or t < b)) or (m > -1 and m < b):
        raise ValueError("scale words out of order")
    total: int | float = 0
    if len(words) == 1:
        total = _VALUES[words[0]]
    elif words:
        if b > -1:
            total += _group(words[:b]) * 10**9
        if m > -1:
            total += _group(words[b + 1:m] if b > -1 else words[:m]) * 10**6
        if t > -1:
            start = m + 1 if m > -1 else (b + 1 if b > -1 else 0)
            total += _group(words[start:t]) * 1000
        last = len(words) - 1
        if t > -1 and t != last:
            total += _group(words[t + 1:])
        elif m > -1 and m != last:
            total += _group(words[m + 1:])
        elif b > -1 and b != last:
            total += _group(words[b + 1:])
        elif t == m == b == -1:
            total += _group(words)
    if decimals:
        if all(w in _UNITS[:10] for w in decimals):
            total += float("0." + "".join(str(_VALUES[w]) for w in decimals))
    return total


def convert_word_number(text: str) -> str:
    try:
        return str(words_to_number(text))
    except (ValueError, IndexError):
        return text


# ------------------------------------------------------------------------------------------ LaTeX shorthands
def fix_fracs(s: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{7}`` -> ``\\frac{1}{7}``; unchanged if a ``\\frac`` lacks 2 chars."""
    head, *rest = s.split("\\frac")
    out = [head]
    for part in rest:
        if part.startswith("{"):
            out.append("\\frac" + part)
        elif len(part) < 2:
            return s
        elif part[1] == "{":
            out.append("\\frac{" + part[0] + "}" + part[1:])
        else:
            out.append("\\frac{" + part[0] + "}{" + part[1] + "}" + part[2:])
    return "".join(out)


def _canonical_int(x: str) -> bool:
    """``str(int(x)) == x`` without int()'s leniency: no sign '+', spaces, underscores or leading zeros."""
    return re.fullmatch(r"-?(0|[1-9][0-9]*)", x) is not None and x != "-0"


def fix_a_slash_b(s: str) -> str:
    """``3/4`` -> ``\\frac{3}{4}`` when both sides are plain integers (a side with ``sqrt`` is kept as text)."""
    parts = s.split("/")
    if len(parts) != 2:
        return s
    a, b = parts
    if all("sqrt" in x or _canonical_int(x) for x in (a, b)):
        return "\\frac{" + a + "}{" + b + "}"
    return s


# ------------------------------------------------------------------------------------------------ the steps
_TRAILING_TEXT = re.compile(r"\\text\{.*?\}$")
_TEXT = re.compile(r"\\text\{(.*?)\}")
_MBOX = re.compile(r"\\mbox\{.*?\}")
# "12.000x" -> "12x" and "12.0" -> "12".  (?<!\d) and ++ keep these linear on long digit runs; they change no
# match: a digit run that cannot start a match at its first digit cannot at any later one either.
_TRAILING_ZEROS_MID = re.compile(r"(?<!\d)(\d++)\.0*([^\d])")
_TRAILING_ZEROS_END = re.compile(r"(?<!\d)(\d++)\.0*$")
_SQRT_SHORT = re.compile(r"\\sqrt(\w+)")
_VARIABLE_PREFIXES = ("x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to")


def strip_answer(s: str) -> str:
    """The released ``strip_string`` of an extracted answer (its ``skip_unit`` flag changed nothing)."""
    s = str(s).strip().replace("\n", "").rstrip(".")
    s = s.replace("\\!", "")
    s = re.sub(r"\\begin\{array\}\{.*?\}", r"\\begin{pmatrix}", s)
    s = s.replace("\\end{array}", "\\end{pmatrix}").replace("bmatrix", "pmatrix")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    s = s.replace("\\left", "").replace("\\right", "").replace("\\{", "{").replace("\\}", "}")
    # a trailing \text{...} is a unit, dropped unless it is all there is
    unit_less = _TRAILING_TEXT.sub("", s).strip()
    if unit_less and unit_less != s:
        s = unit_less
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    for t in ("\\$", "$", "\\(", "\\)"):
        s = s.replace(t, "")
    s = convert_word_number(s)
    s = _TEXT.sub(r"\1", s)
    for t in _VARIABLE_PREFIXES:
        s = s.replace(t, "")
    s = s.replace("\\emptyset", "{}").replace("(-\\infty,\\infty)", "\\mathbb{R}")
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    # (The released code also unwraps {x}/(x)/[x] when the whole string "isalnum()", which a bracketed string
    # never is: that step never fires and is left out.)
    s = s.replace("infinity", "\\infty")
    if "\\infty" not in s:
        s = s.replace("inf", "\\infty")
    s = s.replace("+\\inity", "\\infty")
    s = s.replace("and", "").replace("\\mathbf", "")  # "and" anywhere, also inside words
    s = _MBOX.sub("", s)
    if "j" in s and "i" not in s:
        s = s.replace("j", "i")
    s = _TRAILING_ZEROS_MID.sub(r"\1\2", s)
    s = _TRAILING_ZEROS_END.sub(r"\1", s)
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:  # "k=5" -> "5" (the left side is at most 2 characters)
        s = sides[1]
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = s.replace(" ", "")
    return fix_a_slash_b(fix_fracs(s))
