"""User-facing errors.

A :class:`DDCFError` is something the *user* can fix (a wrong path, a table
without a column, embeddings of other questions).  The CLI front ends print its
message as one paragraph and exit with status 2 instead of a traceback.
Programming errors stay ordinary exceptions so they still show a traceback.
"""

from __future__ import annotations

import textwrap


class DDCFError(Exception):
    """An error caused by bad input, with a message that says what to fix."""

    def __init__(self, what: str, fix: str | None = None):
        self.what = what.strip()
        self.fix = fix.strip() if fix else None
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The whole message on one line (what ``str(exc)`` gives)."""
        text = self.what if not self.fix else f"{self.what} Fix: {self.fix}"
        return " ".join(text.split())

    def render(self, width: int = 100) -> str:
        """The message wrapped as one paragraph for the terminal."""
        return textwrap.fill(self.message, width=width, break_long_words=False, break_on_hyphens=False)


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's message (library errors can run to pages), cut to ``limit``."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else ""


class InputMismatchError(DDCFError):
    """Artifacts that do not belong together (other questions, other model, other dim)."""
