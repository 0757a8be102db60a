"""The option of every stage that writes a corpus table (``ddcf install-bundled``, ``ddcf download``), declared
once.  Imports nothing heavy: ``--help`` must stay instant."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import option


@dataclass
class CorpusWriteOptions:
    keep_duplicates: bool = option(
        False,
        "Keep corpus questions whose text (whitespace normalised) repeats an earlier one's. By default they are "
        "dropped, the first id of each kept, as the paper cleans its corpus (the bundled corpus has 289: AIME "
        "problems that MATH train repeats); the released selectors themselves do not deduplicate. The count is "
        "in the stage summary and the corpus file's provenance either way.",
    )
