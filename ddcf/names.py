"""Turn model names into safe, stable file names."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """Map an arbitrary model name (``Qwen/Qwen2.5-Math-7B``) to a file-name stem.

    Slashes become ``__`` so Hub ids stay readable; every other unsafe character
    becomes ``_``.  Leading dots are stripped so no name can be ``..`` or hidden.
    When anything had to be replaced, a short hash of the original name is
    appended, so two different names never map to the same file.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("model name must be a non-empty string")
    stem = name.strip().replace("/", "__")
    cleaned = _UNSAFE.sub("_", stem).lstrip(".") or "_"
    cleaned = cleaned[:150]
    if cleaned != stem:
        cleaned += "-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return cleaned
