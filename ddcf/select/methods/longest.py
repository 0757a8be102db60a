"""``--method longest``: the k questions with the longest question or response (``--length_of``).

Length = number of tokens of ``--length_tokenizer`` (a local tokenizer folder, no special tokens) when given,
else the number of whitespace-separated words.  Ties go to the earlier question of the pool (embedding-file
order).  Inputs: the corpus question table.  Corpus annotations: none (the corpus responses are the data).
The table's ``cost`` column is the length.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ddcf.errors import DDCFError, first_line
from ddcf.select.methods.common import Context, Picks, Timer, ranked


def length_counter(tokenizer: str | None = None) -> tuple[Callable[[list[str]], np.ndarray], str]:
    """(texts -> length of each, the unit): the tokenizer is loaded once, then applied batch by batch."""
    if not tokenizer:
        return (lambda texts: np.array([len(t.split()) for t in texts], dtype=np.float64)), "whitespace words"
    p = Path(tokenizer)
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any loader error becomes one paragraph
        raise DDCFError(f"Could not load a tokenizer from --length_tokenizer {p}: {type(exc).__name__}: "
                        f"{first_line(exc)}.", "pass a local folder with tokenizer files, or drop the option to "
                        "count whitespace-separated words.") from None

    def count(texts: list[str]) -> np.ndarray:
        ids = tok(list(texts), add_special_tokens=False)["input_ids"] if texts else []
        return np.array([len(i) for i in ids], dtype=np.float64)

    return count, f"tokens of {p}"


def lengths(texts: list[str], tokenizer: str | None = None) -> tuple[np.ndarray, str]:
    """Length of each text and the unit it is counted in."""
    count, unit = length_counter(tokenizer)
    return count(texts), unit


def select(ctx: Context) -> Picks:
    with Timer() as t:
        count, unit = length_counter(ctx.config.length_tokenizer)
        # streamed from the corpus batch by batch: only the lengths are kept (issue 25)
        n = ctx.pool.text_values(ctx.config.length_of, count).astype(np.float64)
        rows = ranked(n, ctx.k, descending=True)
    return Picks(indices=rows, score=n[rows], engine=f"{ctx.config.length_of} length in {unit}", seconds=t.seconds,
                 stats={"length_unit": unit, "length_of": ctx.config.length_of})
