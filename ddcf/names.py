"""Turn model names into safe, stable file names."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# In the readable form a slash becomes "__", so a name holding "__" (or an underscore or slash next to a slash)
# reads the same as another name: "org/m" and "org__m", "a_/b" and "a/_b", "a//b" and "a____b".
_AMBIGUOUS = re.compile(r"__|_/|/_|//")
MAX_STEM = 150
# A stem ending in a suffix the layout appends to other files' stems (``<model>.passrate.parquet`` beside
# ``<model>.parquet``) would name another model's file: "x.passrate"'s verdicts would be "x"'s pass rates.
_RESERVED_ENDINGS = (".passrate",)


def safe_name(name: str) -> str:
    """Map an arbitrary model name (``Qwen/Qwen2.5-Math-7B``) to a file-name stem, injectively.

    A name made only of ``A-Za-z0-9._-`` and single slashes keeps its readable form, slashes written as
    ``__`` (``Qwen__Qwen2.5-Math-7B``): that form can be read back, so no other such name shares it.
    Any other name (unsafe characters, surrounding spaces, a leading dot, more than 150 characters, or a
    form another name could also produce, such as ``org__m`` next to ``org/m``, or one ending in a suffix of the
    layout's own file names, such as ``x.passrate``) gets ``-`` and the first 8 hex
    digits of the SHA-1 of the original name appended, which is also the form older versions wrote for
    names with unsafe characters, so existing files keep their names.

    Names that differ only in case (``Org/M``, ``org/m``) get different stems, which share one file on a
    case-insensitive file system: :meth:`ddcf.layout.Layout.check_distinct_paths` refuses such sets.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("model name must be a non-empty string")
    stem = name.strip().replace("/", "__")
    cleaned = _UNSAFE.sub("_", stem).lstrip(".") or "_"
    cleaned = cleaned[:MAX_STEM]
    if (cleaned != stem or name != name.strip() or _AMBIGUOUS.search(name)
            or cleaned.lower().endswith(_RESERVED_ENDINGS)):
        cleaned += "-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return cleaned
