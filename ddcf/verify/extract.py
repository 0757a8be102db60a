"""Final-answer extraction from raw completions, as named filter chains.

A *filter* is a small named function registered in :data:`FILTERS`.  There are
three kinds, applied in this order by a :class:`FilterChain`:

* ``transform``: text -> text, run on the whole completion first (e.g. cut off
  an invented follow-up question the model kept writing);
* ``extract``: text -> answer or ``None``; the chain tries them in order and
  the first one that returns an answer wins;
* ``clean``: answer -> answer or ``None`` (strip ``$``, unbox, drop
  placeholders such as ``"___"``).  A cleaner that returns ``None`` rejects the
  candidate and the chain moves on to the next extractor.

Chains are registered by name in :data:`CHAINS` (``"math"``, ``"gsm8k"``), the
same idea as lm-evaluation-harness's filter lists, so a new answer format is a
new filter plus a new chain, not an edit of a long if/else.

Why the JSON extractor is a hand-written scanner instead of ``json.loads``:
the bundled outputs ask for ``{"reasoning": ..., "answer": ...}`` but models
write LaTeX with single backslashes (``"\\frac{1}{2}"`` spelled ``"\frac{1}{2}"``),
which is invalid JSON; strict parsing fails on about half the MATH outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Literal

from ddcf.verify.normalize import strip_delimiters

Kind = Literal["transform", "extract", "clean"]


@dataclass(frozen=True)
class Filter:
    name: str
    kind: Kind
    fn: Callable[[str], str | None]
    doc: str = ""


FILTERS: dict[str, Filter] = {}


def register_filter(name: str, kind: Kind) -> Callable:
    """Decorator: register ``fn`` under ``name`` as a filter of ``kind``."""

    def deco(fn: Callable[[str], str | None]) -> Callable[[str], str | None]:
        if name in FILTERS:
            raise ValueError(f"filter {name!r} is already registered")
        FILTERS[name] = Filter(name, kind, fn, (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "")
        return fn

    return deco


#: Only the last SCAN_CHARS characters of a completion are searched for its final answer: the
#: answer ends a completion, and this bounds the work (and the time) per row whatever the output.
#: The longest of the 88,090 bundled completions has 21,535 characters; a longer completion is
#: degenerate output, and its verdict row gets status 'truncated'.
SCAN_CHARS = 100_000


@dataclass(frozen=True)
class Extraction:
    """What a chain found: the answer text (``None`` = no answer) and which extractor found it.

    ``truncated``: the completion was longer than :data:`SCAN_CHARS`; only its tail was searched.
    """

    answer: str | None
    method: str
    truncated: bool = False


@dataclass(frozen=True)
class FilterChain:
    name: str
    transforms: tuple[str, ...]
    extractors: tuple[str, ...]
    cleaners: tuple[str, ...]

    def __post_init__(self) -> None:
        for kind, names in (("transform", self.transforms), ("extract", self.extractors), ("clean", self.cleaners)):
            for n in names:
                if n not in FILTERS:
                    raise ValueError(f"chain {self.name!r}: unknown filter {n!r}")
                if FILTERS[n].kind != kind:
                    raise ValueError(f"chain {self.name!r}: filter {n!r} is a {FILTERS[n].kind}, not a {kind}")

    def __call__(self, completion: str | None) -> Extraction:
        text = completion if isinstance(completion, str) else ""
        if not text or text.isspace():
            return Extraction(None, "empty")
        truncated = len(text) > SCAN_CHARS
        if truncated:
            text = text[-SCAN_CHARS:]
        for name in self.transforms:
            text = FILTERS[name].fn(text) or ""
        for name in self.extractors:
            ans = FILTERS[name].fn(text)
            for cname in self.cleaners:
                if ans is None:
                    break
                ans = FILTERS[cname].fn(ans)
            if ans is not None:
                return Extraction(ans, name, truncated)
        return Extraction(None, "none", truncated)


CHAINS: dict[str, FilterChain] = {}


def register_chain(chain: FilterChain) -> FilterChain:
    CHAINS[chain.name] = chain
    return chain


def get_chain(name: str) -> FilterChain:
    try:
        return CHAINS[name]
    except KeyError:
        raise KeyError(f"unknown extraction chain {name!r}; known: {', '.join(sorted(CHAINS))}") from None


def extract_answer(completion: str | None, chain: str = "math") -> Extraction:
    """Run the named chain on one completion."""
    return get_chain(chain)(completion)


# =========================================================================== transforms
# A model that keeps writing after its answer often invents a new exercise in the
# prompt's own format ("## Question: ... ## Instruction ... "answer": "42"").  Everything
# from such a heading on belongs to another question.
# Starts with a literal newline (a heading at offset 0 is the model's own start, never a
# continuation), which also lets the regex engine skip ahead fast on long texts.
_CONTINUATION = re.compile(
    r"\n[ \t]*(?:#{1,6}[ \t]*(?:[Nn]ew[ \t]+|[Nn]ext[ \t]+|[Ff]ollow[- ]up[ \t]+)?"
    r"(?:[Qq]uestion|QUESTION|[Ii]nstruction|[Pp]roblem|[Ee]xercise)\b"
    r"|(?:[Nn]ew[ \t]+|[Nn]ext[ \t]+)?(?:[Qq]uestion|QUESTION)[ \t]*\d*[ \t]*:)"
)
_CONTINUATION_WORDS = ("uestion", "UESTION", "nstruction", "roblem", "xercise")
# Evidence that an answer was given before a continuation heading.
_ANSWER_SIGNAL = re.compile(r"[\"'](?:final_)?answer[\"']\s*:|\\boxed|\\fbox|answer\s+is|####", re.IGNORECASE)


@register_filter("cut_continuation", "transform")
def cut_continuation(text: str) -> str:
    """Cut the text at the first invented follow-up question that comes after an answer."""
    if not any(w in text for w in _CONTINUATION_WORDS):  # cheap pre-check: most outputs have none
        return text
    # The first heading after the first answer signal (one search each: linear in the text).
    signal = _ANSWER_SIGNAL.search(text)
    m = _CONTINUATION.search(text, signal.end()) if signal else None
    return text[: m.start() + 1] if m else text


# =========================================================================== JSON "answer" field
# Literal-prefixed pattern (fast search); the opening quote is checked by hand below.
_KEY = re.compile(r"""nswer(?P<esc>\\?)(?P<q>["'])\s*:\s*""")
_KEY_HEAD = re.compile(r"""(?P<esc>\\?)(?P<q>["'])(?:final_)?[Aa]$""")
# A JSON answer written *inside* the reasoning string, with escaped quotes: \"answer\": \"5\".
_ESCAPED_VALUE = re.compile(r"""\\(?P<q>["'])(?P<v>(?:[^"'\\]|\\(?!["']))*)\\(?P=q)""")
# The prompt's own example, which some models echo: `"answer": "42"` after "e.g.,".
_EXAMPLE_BEFORE = re.compile(r"e\.g\.,?\s*`?\s*$", re.IGNORECASE)
_MAX_VALUE = 4000  # longer "values" are an unterminated string swallowing the rest of the text

_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "'": "'"}
_WS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_STR_TOKEN = re.compile(r"""\\(?:u[0-9a-fA-F]{4}|.)|["']""", re.DOTALL)
# After a closing quote: a comma/brace/bracket, the end of the text, or the end of the line.
_VALUE_END = re.compile(r"\s*(?:[,}\]]|$)|[ \t]*\r?\n")


def _scan_string(text: str, start: int, quote: str, stop: int) -> tuple[str, int] | None:
    """Read a quoted value starting after the opening quote at ``start``; lenient about backslashes.

    ``\\\\`` -> ``\\``, ``\\"`` -> ``"``; ``\\n``/``\\t``/``\\r`` are whitespace only when
    no letter follows (``\\neq``, ``\\theta``, ``\\right`` are LaTeX); any other
    backslash is kept as written, so ``\\frac`` survives.  A quote closes the value
    only when what follows looks like the end of a JSON value; models sometimes
    put bare quotes inside answers.  Nothing at or after ``stop`` (the next key) is read.
    """
    out: list[str] = []
    n = len(text)
    limit = min(stop, start + _MAX_VALUE)
    first_close: tuple[str, int] | None = None
    pos = start
    # Jump from one backslash/quote to the next; plain text is copied in slices.
    for m in _STR_TOKEN.finditer(text, start, limit):
        out.append(text[pos : m.start()])
        tok = m.group(0)
        pos = m.end()
        if tok[0] == "\\":
            nxt = tok[1:2]
            if nxt in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[nxt])
            elif nxt in _WS_ESCAPES and not (pos < n and text[pos].isalpha()):
                out.append(_WS_ESCAPES[nxt])
            elif len(tok) == 6:  # \uXXXX
                out.append(chr(int(tok[2:], 16)))
            else:
                out.append(tok)  # LaTeX: keep "\frac" as written
            continue
        if tok != quote:
            out.append(tok)
            continue
        if _VALUE_END.match(text, pos) or pos >= n:
            return "".join(out), pos
        if first_close is None:
            first_close = ("".join(out), pos)
        out.append(tok)
    return first_close


_BARE_VALUE = re.compile(r"[^,}\n]*")
_BRACKETS = {"{": "}", "[": "]", "(": ")"}


def _scan_bare(text: str, start: int, stop: int) -> str | None:
    """Read an unquoted value (number, object, list, Python tuple/literal) up to the end of the JSON value.

    A value opening with ``{``/``[``/``(`` runs to its matching bracket, skipping brackets inside quoted
    strings (``['a]', (1, 2)]``), so a Python literal written where JSON wanted a string
    (``"answer": (1, 'a')``) is read whole; after a ``)`` it goes on to the next comma, ``}`` or line end
    (``(5 + 4) * 7``); anything else runs to the next comma, ``}`` or line end.
    """
    if start >= stop:
        return None
    if text[start] in _BRACKETS:
        want: list[str] = []
        quote = None
        j, end = start, min(stop, start + _MAX_VALUE)
        while j < end:
            c = text[j]
            if quote is not None:
                if c == "\\":
                    j += 1
                elif c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
            elif c in _BRACKETS:
                want.append(_BRACKETS[c])
            elif c in ")]}":
                if not want or c != want.pop():
                    return None
                if not want:
                    if c != ")":
                        return text[start : j + 1]
                    # "(5 + 4) * 7" is one value: after a parenthesis the value goes on as a plain one
                    tail = _BARE_VALUE.match(text, j + 1, min(stop, start + _MAX_VALUE))
                    return (text[start : j + 1] + (tail.group(0) if tail else "")).strip()
            j += 1
        return None
    m = _BARE_VALUE.match(text, start, min(stop, start + _MAX_VALUE))
    val = m.group(0).strip() if m else ""
    return val or None


def json_answer_items(text: str) -> list[tuple[str, bool]]:
    """All values of ``"answer"``/``"final_answer"`` keys in ``text``, in order, leniently decoded, each with
    whether it was a quoted string (``"answer": "[1, 2]"``) or a bare value (``"answer": [1, 2]``)."""
    values: list[tuple[str, bool]] = []
    keys = list(_KEY.finditer(text))
    for k, m in enumerate(keys):
        # A value ends before the next key: every character is scanned for one key at most, so
        # text made of nothing but keys ('"answer": "' a million times) stays linear.
        stop = keys[k + 1].start() if k + 1 < len(keys) else len(text)
        head = _KEY_HEAD.search(text, max(0, m.start() - 9), m.start())
        if head is None or head.group("q") != m.group("q") or head.group("esc") != m.group("esc"):
            continue
        if _EXAMPLE_BEFORE.search(text, max(0, head.start() - 12), head.start()):
            continue
        pos = m.end()
        if m.group("esc"):
            ev = _ESCAPED_VALUE.match(text, pos, min(stop, pos + _MAX_VALUE))
            if ev:
                values.append((ev.group("v"), True))
            continue
        if pos < len(text) and text[pos] in "\"'":
            got = _scan_string(text, pos + 1, text[pos], stop)
            if got is not None:
                values.append((got[0], True))
        else:
            val = _scan_bare(text, pos, stop)
            if val is not None and val.lower() != "null":
                values.append((val, False))
    return values


def json_answer_values(text: str) -> list[str]:
    """All values of ``"answer"``/``"final_answer"`` keys in ``text``, in order, leniently decoded."""
    return [v for v, _ in json_answer_items(text)]


@register_filter("json_answer", "extract")
def json_answer(text: str) -> str | None:
    """The last non-placeholder ``"answer"`` value (models that correct themselves repeat the JSON)."""
    for val in reversed(json_answer_values(text)):
        if not is_placeholder(val):
            return val
    return None


# =========================================================================== \boxed{...}
_BOX = re.compile(r"\\(?:boxed|fbox)\s*(?=\{)|\\boxed\s+(?=[^\s{])")


_MAX_BOX_SPAN = 5000  # a \boxed{...} longer than this is a runaway, not an answer
_MAX_BOXES_TRIED = 50  # bound the work on text full of unclosed "\boxed{"


def _match_brace(text: str, i: int, max_span: int = _MAX_BOX_SPAN) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``i`` (``\\{``/``\\}`` are escaped braces), or None."""
    depth, j, n = 0, i, min(len(text), i + max_span)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return None


_BARE_TOKEN = re.compile(r"[^\s$.,]{1,%d}" % _MAX_BOX_SPAN)


def _box_at(text: str, m: re.Match) -> str | None:
    i = m.end()
    if i < len(text) and text[i] == "{":
        end = _match_brace(text, i)
        return text[i + 1 : end] if end is not None else None
    tok = _BARE_TOKEN.match(text, i)  # "\boxed 5": TeX allows one unbraced token
    return tok.group(0) if tok else None


def has_boxed_answer(text: str) -> bool:
    """True when ``text`` holds a complete ``\\boxed{...}`` / ``\\fbox{...}`` (or ``\\boxed 5``), even an empty one.

    The generation stage asks for a follow-up answer when this is False; it matches braces
    exactly as :func:`boxed` does (escaped ``\\{``/``\\}`` do not count).
    """
    if "box" not in text:
        return False
    return any(_box_at(text, m) is not None for m in list(_BOX.finditer(text))[::-1][:_MAX_BOXES_TRIED])


@register_filter("boxed", "extract")
def boxed(text: str) -> str | None:
    """The last non-empty ``\\boxed{...}`` or ``\\fbox{...}`` (last one wins)."""
    if "box" not in text:
        return None
    for m in list(_BOX.finditer(text))[::-1][:_MAX_BOXES_TRIED]:
        c = _box_at(text, m)
        if c is not None and c.strip():
            return c
    return None


# =========================================================================== "The answer is X"
# Possessive whitespace: "\s*:?\s*" backtracks quadratically over a long run of blank lines.
_PHRASE = re.compile(r"\banswer\b\**+\s*+(?:is|=|:)\**+\s*+:?\s*+(?P<rest>[^\n]{1,300})", re.IGNORECASE)


def _phrase_value(rest: str) -> str | None:
    rest = rest.strip()
    inner = boxed(rest)
    if inner is not None:
        return inner
    m = re.match(r"\$\$?(.+?)\$\$?", rest) or re.match(r"\\\((.+?)\\\)", rest) or re.match(r"\\\[(.+?)\\\]", rest)
    if m:
        return m.group(1)
    rest = re.sub(r"^\*\*|\*\*$", "", rest).strip()
    # Sentence end: a period followed by space/end, not a decimal point.
    rest = re.split(r"\.(?:\s|$)", rest, maxsplit=1)[0]
    return rest.strip(" *`\"'\\") or None


@register_filter("answer_phrase", "extract")
def answer_phrase(text: str) -> str | None:
    """The last "The (final) answer is X" / "Answer: X"."""
    for m in reversed(list(_PHRASE.finditer(text))):
        val = _phrase_value(m.group("rest"))
        if val and not is_placeholder(val):
            return val
    return None


# =========================================================================== GSM8K-style
_HASH = re.compile(r"####\s*+([^\n]+)")

@register_filter("hash_answer", "extract")
def hash_answer(text: str) -> str | None:
    """GSM8K's ``#### N`` marker (last one)."""
    found = _HASH.findall(text)
    return found[-1].strip() if found else None


_REASONING_KEY = re.compile(r"""["']reasoning["']\s*:""")
NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@register_filter("last_number", "extract")
def last_number(text: str) -> str | None:
    """The last number in the text: a fallback for numeric (GSM8K-style) questions only.

    Not for output in the JSON answer protocol (a ``"reasoning"`` key but no
    answer): that is a completion cut off mid-reasoning, whose last number is
    an intermediate result, not an answer.
    """
    if _REASONING_KEY.search(text):
        return None
    # Look at the tail first: degenerate outputs can be long runs of digits.
    for chunk in (text[-2000:], text):
        found = NUMBER_RE.findall(chunk)
        if found:
            return found[-1].rstrip(",")
    return None


# =========================================================================== cleaners
_PLACEHOLDER = re.compile(
    r"^(?:[\s_.\-–—…?*<>\[\]/]*|n/?a|none\s*given|tbd|todo|unknown|\[?your\s+answer(?:\s+here)?\]?|"
    r"<?answer>?|\.\.\.|\$?\s*\\ldots\s*\$?|\$?\s*\\cdots\s*\$?)$",
    re.IGNORECASE,
)


def is_placeholder(value: str) -> bool:
    """True for template filler that is no answer at all: "", "___", "...", "N/A", "[your answer]"."""
    return bool(_PLACEHOLDER.match(value.strip()))


@register_filter("unbox", "clean")
def unbox(ans: str) -> str | None:
    """Take the inside of a ``\\boxed{}`` within an answer value."""
    inner = boxed(ans)
    return inner if inner is not None else ans


@register_filter("strip_math_delims", "clean")
def strip_math_delims(ans: str) -> str | None:
    """Strip surrounding whitespace, ``$``/``\\(\\)``/``\\[\\]`` delimiters and a final period."""
    return strip_delimiters(ans)


@register_filter("drop_placeholder", "clean")
def drop_placeholder(ans: str) -> str | None:
    """Reject template filler ("___", "...", "N/A") so the next extractor gets a turn."""
    return None if is_placeholder(ans) else ans


# =========================================================================== the chains
register_chain(
    FilterChain(
        name="math",
        transforms=("cut_continuation",),
        extractors=("json_answer", "boxed", "answer_phrase"),
        cleaners=("unbox", "strip_math_delims", "drop_placeholder"),
    )
)
register_chain(
    FilterChain(
        name="gsm8k",
        transforms=("cut_continuation",),
        extractors=("json_answer", "hash_answer", "boxed", "answer_phrase", "last_number"),
        cleaners=("unbox", "strip_math_delims", "drop_placeholder"),
    )
)
