"""The corpus question table, ``DDCF_data/corpus/questions.parquet``: the questions a selection picks from.

Written by ``ddcf install-bundled`` and ``ddcf download`` (through :func:`write_corpus` /
:class:`DuplicateTexts`), or by the user; read by stages 3, 5, 6, ``ddcf score``, ``ddcf distill``,
``ddcf report`` and ``ddcf summary`` through :func:`read_corpus`, the only reader.

A stage reads only the columns it needs (``columns=``) and, when it outputs a few rows, only those rows
(``ids=``): the paper's corpus carries ~10k-character chains of thought per row, so reading every column of
every row costs GBs (issue 25).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import pandas as pd

from ddcf.artifacts.questions import read_question_table, table_columns
from ddcf.errors import DDCFError, first_line
from ddcf.io import read_parquet_metadata, write_parquet
from ddcf.layout import Layout

#: the columns ddcf writes (the Hub download adds subject, len and prompt_id); only the first two are required
COLUMNS = ("question_id", "question", "response", "answer", "dataset")
REQUIRED = ("question_id", "question")
#: optional columns a reader gets filled in when the file lacks them: an unannotated corpus (the paper's
#: Section 5) has no response yet (ddcf distill writes them); the dataset only labels reports
DEFAULTS = {"response": "", "dataset": "unknown"}
#: what the selection stages join on (the default of :func:`read_corpus`)
SELECT_COLUMNS = ("question_id", "question", "response", "dataset")

FIX = ("create the corpus question table first (scripts/install_bundled_data.py for the bundled data, or write "
       "DDCF_data/corpus/questions.parquet with question_id, question, response).")
WHAT = "corpus questions"


def path(layout: Layout) -> Path:
    return layout.corpus_questions


def exists(layout: Layout) -> bool:
    return path(layout).is_file()


def file_columns(layout: Layout, fix: str = FIX) -> list[str]:
    """The column names of the corpus file (its schema only: no row is read)."""
    return table_columns(path(layout), WHAT, fix)


def count(layout: Layout) -> int:
    """The number of corpus questions (from the file's footer: no row is read)."""
    import pyarrow.parquet as pq

    file_columns(layout)  # a missing or unreadable file is the usual clear error
    return int(pq.ParquetFile(path(layout)).metadata.num_rows)


#: file-level key a streamed write records the duplicate count under (the schema's is written before the rows)
DEDUPE_KEY = "ddcf_corpus_dedupe"


def provenance(layout: Layout) -> dict:
    """The corpus file's recorded provenance (source, duplicates dropped, ...); {} for a hand-made table."""
    import json

    import pyarrow.parquet as pq

    meta = read_parquet_metadata(path(layout))
    streamed = (pq.ParquetFile(path(layout)).metadata.metadata or {}).get(DEDUPE_KEY.encode())
    return {**meta, **json.loads(streamed)} if streamed else meta


def read_corpus(layout: Layout, columns: Sequence[str] = SELECT_COLUMNS, ids: Sequence[str] | None = None,
                optional: Sequence[str] = (), fix: str = FIX, check_blank: bool = False) -> pd.DataFrame:
    """The corpus rows, validated (:func:`ddcf.artifacts.questions.read_question_table`: question_id and
    question present, ids unique and read as text, rows present).

    ``columns``: the columns to return; a missing one of :data:`DEFAULTS` is filled with its default, any other
    missing one is an error.  ``optional``: columns returned only when the file has them.  ``ids``: only these
    questions, in this order (one not in the corpus is an error); the other rows' texts are never read.
    ``check_blank``: refuse an empty question text among the rows returned.
    """
    return read_question_table(path(layout), WHAT, columns, ids=ids, optional=optional, defaults=DEFAULTS,
                               fix=fix, check_blank=check_blank)


#: rows per batch of :func:`iter_corpus`: ~40 MB of text at the paper's ~5k characters per row
BATCH_ROWS = 8192


def iter_corpus(layout: Layout, columns: Sequence[str], batch_rows: int | None = None,
                fix: str = FIX) -> Iterator[pd.DataFrame]:
    """The corpus in batches of rows, file order: question_id (as text) + ``columns`` (a missing one of
    :data:`DEFAULTS` filled in).  Only one batch's texts are in memory at a time, whatever the file's row
    groups (a buffered read decodes page by page), so a stage that needs a statistic of every text (lengths,
    blank checks) never holds the corpus.  No validation beyond the columns: pair it with a :func:`read_corpus`
    of the ids."""
    import pyarrow.parquet as pq

    names = file_columns(layout, fix)
    missing = [c for c in columns if c not in names and c not in DEFAULTS]
    if missing:
        raise DDCFError(f"The {WHAT} file {path(layout)} lacks the column(s) {', '.join(missing)}; it has: "
                        f"{', '.join(names) or '(none)'}.", fix)
    wanted = list(dict.fromkeys(["question_id", *columns]))
    try:
        batches = pq.ParquetFile(path(layout), buffer_size=1 << 20).iter_batches(
            batch_size=batch_rows or BATCH_ROWS, columns=[c for c in wanted if c in names])
        for batch in batches:
            df = batch.to_pandas()
            df["question_id"] = df["question_id"].astype(str)
            for column in wanted:
                if column not in df.columns:
                    df[column] = DEFAULTS[column]
            yield df[wanted]
    except (OSError, ValueError) as exc:  # pyarrow's errors are ValueError/OSError subclasses
        raise DDCFError(f"Could not read the {WHAT} file {path(layout)}: {type(exc).__name__}: {first_line(exc)}.",
                        f"check that it is a valid Parquet file; {fix}") from None


def read_ids(layout: Layout, fix: str = FIX) -> list[str]:
    """The corpus question ids in file order (validated like :func:`read_corpus`; no text is read)."""
    return read_corpus(layout, columns=("question_id",), fix=fix)["question_id"].tolist()


# --------------------------------------------------------------------------- duplicate texts
def normalise_text(text) -> str:
    """A question text with its whitespace runs made single spaces and its ends stripped: two texts that only
    differ in layout are the same question."""
    return " ".join(str(text).split())


class DuplicateTexts:
    """Drops questions whose text (after :func:`normalise_text`) an earlier row already had; keeps the first id.

    Used row block by row block, so a corpus streamed from a CSV is deduplicated with only one hash per unique
    text in memory.  The paper cleans its corpus of exact duplicates; the released selectors do not, so
    ``keep=True`` (``--keep_duplicates``) keeps every row and only counts them.
    """

    def __init__(self, keep: bool = False):
        self.keep = keep
        self.seen: set[bytes] = set()
        self.found = 0
        self.examples: list[str] = []  # a few dropped ids (first occurrence's id is the one kept)

    def mask(self, texts: Iterable, ids: Iterable) -> list[bool]:
        """True for the rows to keep, in order; remembers the texts seen."""
        import hashlib

        keep = []
        for text, qid in zip(texts, ids):
            h = hashlib.sha256(normalise_text(text).encode("utf-8")).digest()
            new = h not in self.seen
            self.seen.add(h)
            if not new:
                self.found += 1
                if len(self.examples) < 5:
                    self.examples.append(str(qid))
            keep.append(new or self.keep)
        return keep

    @property
    def dropped(self) -> int:
        return 0 if self.keep else self.found

    def record(self) -> dict:
        """What the corpus provenance and the stage report record."""
        return {"duplicate_texts": self.found, "duplicates_dropped": self.dropped, "keep_duplicates": self.keep}

    def summary(self) -> str:
        eg = f" (e.g. {', '.join(self.examples[:3])})" if self.examples else ""
        return describe_duplicates(self.record()) + eg


def describe_duplicates(record: dict) -> str:
    """One phrase for a stage report from :meth:`DuplicateTexts.record`."""
    found = int(record.get("duplicate_texts") or 0)
    if not found:
        return "no duplicate question texts"
    if record.get("keep_duplicates"):
        return f"{found:,} duplicate question text(s) kept (--keep_duplicates)"
    return f"{found:,} duplicate question text(s) dropped, the first id of each kept"


def dedupe_metadata(dedupe: DuplicateTexts) -> dict[str, str]:
    """What a streaming writer (``ParquetWriter.add_key_value_metadata``) records once every row is written."""
    import json

    return {DEDUPE_KEY: json.dumps(dedupe.record(), sort_keys=True)}


@dataclass
class Written:
    path: Path
    rows: int
    dedupe: DuplicateTexts


def write_corpus(layout: Layout, df: pd.DataFrame, provenance: dict | None = None,
                 keep_duplicates: bool = False) -> Written:
    """Write a corpus table (atomically) with its provenance; exact duplicate question texts are dropped
    unless ``keep_duplicates`` (the count lands in the provenance)."""
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"a corpus table needs the columns {missing}")
    if df["question_id"].astype(str).duplicated().any():
        dup = df.loc[df["question_id"].astype(str).duplicated(), "question_id"].iloc[0]
        raise DDCFError(f"The corpus being written repeats the question id {dup!r}.", "make question ids unique.")
    dedupe = DuplicateTexts(keep=keep_duplicates)
    out = df[dedupe.mask(df["question"], df["question_id"])].reset_index(drop=True)
    target = write_parquet(out, path(layout), metadata={**(provenance or {}), **dedupe.record()})
    return Written(target, len(out), dedupe)
