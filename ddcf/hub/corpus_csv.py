"""Stream the published full-corpus CSV into the layout's corpus Parquet, validating as it goes.

The paper's corpus is 189,257 rows with DeepSeek-R1 chains of thought of ~10k characters each (a CSV of a
few GB).  Reading it with ``pandas.read_csv`` and writing it with ``to_parquet`` holds the Python strings,
then an Arrow copy, then the encoder's buffers: several times the data.  Here pyarrow's streaming CSV
reader yields blocks of ``block_size`` bytes; each block is renamed to our columns, and a few blocks make one
row group of a ``ParquetWriter`` on a temporary file next to the target, which replaces the target only when
every row has been read and checked.  Peak memory is a few blocks plus the id set, whatever the corpus
size (``benchmarks/bench_download.py`` measures it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ddcf.artifacts.corpus import DuplicateTexts, dedupe_metadata
from ddcf.errors import DDCFError, first_line
from ddcf.hub.schemas import CORPUS_DATASET, CORPUS_OUTPUT_COLUMNS, CORPUS_PREFIX, PUBLISHED_CORPUS_COLUMNS
from ddcf.io import atomic_path
from ddcf.runtime import progress as progress_bar

# Bytes of CSV per block.  A row must fit in one block (R1 responses are <= ~200 kB); the reader keeps a
# fixed number of blocks in flight, so peak memory is a multiple of this, whatever the corpus size.
BLOCK_SIZE = 1 << 20
MAX_BLOCK_SIZE = 64 << 20  # a row longer than a block: retried with 8x larger blocks up to this
ROW_GROUP_BYTES = 8 << 20  # blocks are gathered into row groups of about this many bytes before writing


@dataclass
class CorpusStats:
    rows: int = 0
    empty_questions: int = 0
    empty_responses: int = 0
    duplicate_ids: int = 0
    subjects: dict = field(default_factory=dict)
    examples: dict = field(default_factory=dict)  # problem -> a few offending prompt_ids


# What Python's str.isspace() counts as whitespace plus the invisible characters of ddcf.io.blank_text, for
# Arrow's RE2 (whose \s is ASCII only): a cell made only of these shows nothing.
_BLANK_RE = (r"^[\t\n\x{0b}\f\r\x{1c}-\x{1f}\x{85}\p{Z}"
             r"\x{200b}\x{200c}\x{200d}\x{2060}\x{feff}\x{ad}]*$")


def blank_mask(texts):
    """True where an Arrow string array's cell is blank by the rule of :func:`ddcf.io.blank_text`, computed in
    Arrow (no Python string per row: responses run to GBs)."""
    import pyarrow.compute as pc

    return pc.fill_null(pc.match_substring_regex(texts, _BLANK_RE), True)


def _schema():
    import pyarrow as pa

    return pa.schema([("question_id", pa.string()), ("question", pa.string()), ("response", pa.string()),
                      ("answer", pa.string()), ("dataset", pa.string()), ("subject", pa.string()),
                      ("len", pa.int64()), ("prompt_id", pa.int64())])


def _open(path: Path, block_size: int, what: str, fix: str):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    types = {c: pa.string() for c in ("prompt", "response", "gold", "subject")}
    types.update(prompt_id=pa.int64(), len=pa.float64())  # len may be written 123.0 by pandas
    try:
        return pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=block_size, use_threads=False),  # no read-ahead
            parse_options=pcsv.ParseOptions(newlines_in_values=True),  # chains of thought span lines
            convert_options=pcsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        if "straddl" in str(exc):
            raise _RowLongerThanBlock from None
        # the reader parses its first block right away: a file cut short in that block fails here
        raise DDCFError(f"The {what} {path} is malformed or cut short ({first_line(exc)}).", fix) from None


def convert_corpus_csv(path: str | Path, target: str | Path, *, what: str, fix: str, provenance: dict,
                       block_size: int = BLOCK_SIZE, progress: bool = True,
                       dedupe: DuplicateTexts | None = None) -> CorpusStats:
    """``fullcorpus_math.csv`` -> ``target`` (our corpus columns), atomically; raises a DDCFError on bad rows.
    ``dedupe`` (the corpus artifact's duplicate-text rule) drops repeated question texts block by block; what it
    found is recorded in the file (:func:`ddcf.artifacts.corpus.provenance`)."""
    while True:
        try:
            return _convert_file(path, target, what, fix, provenance, block_size, progress,
                                 dedupe if dedupe is not None else DuplicateTexts(keep=True))
        except _RowLongerThanBlock:
            if block_size >= MAX_BLOCK_SIZE:
                raise DDCFError(f"The {what} {path} has a row longer than {MAX_BLOCK_SIZE >> 20} MB (or an "
                                "unterminated quote).", fix) from None
            block_size *= 8


class _RowLongerThanBlock(Exception):
    pass


def _convert_file(path, target, what, fix, provenance, block_size, progress, dedupe) -> CorpusStats:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = Path(path)
    reader = _open(path, block_size, what, fix)
    missing = [c for c in PUBLISHED_CORPUS_COLUMNS if c not in reader.schema.names]
    if missing:
        raise DDCFError(f"The {what} {path} lacks the column(s) {', '.join(missing)}; it has: "
                        f"{', '.join(reader.schema.names)}.", fix)
    schema = _schema().with_metadata({b"ddcf": json.dumps(provenance, sort_keys=True, default=str).encode()})
    stats, ids, subjects, pending = CorpusStats(), [], {}, []
    bar = progress_bar(desc="corpus csv -> parquet", unit="row", enabled=progress, total=None)
    with atomic_path(target) as tmp:
        writer = pq.ParquetWriter(tmp, schema, compression="zstd")
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except (pa.ArrowInvalid, OSError) as exc:
                    if "straddl" in str(exc):  # arrow: "straddling object straddles two block boundaries"
                        raise _RowLongerThanBlock from None
                    raise DDCFError(
                        f"The {what} {path} is malformed or cut short after about {stats.rows:,} rows "
                        f"({first_line(exc)}).", fix) from None
                block = _convert(pa.Table.from_batches([batch]), stats, ids, subjects, pc, pa).cast(schema)
                keep = dedupe.mask(block.column("question").to_pylist(), block.column("question_id").to_pylist())
                pending.append(block.filter(pa.array(keep, pa.bool_())))
                bar.update(batch.num_rows)
                if sum(t.nbytes for t in pending) >= ROW_GROUP_BYTES:
                    _flush(writer, pending, pa)
            _flush(writer, pending, pa)
            writer.add_key_value_metadata(dedupe_metadata(dedupe))
        finally:
            writer.close()
            bar.close()
        _check(stats, ids, path, what, fix)
    stats.subjects = dict(sorted(subjects.items(), key=lambda kv: -kv[1]))
    return stats


def _flush(writer, pending: list, pa) -> None:
    if pending:
        table = pa.concat_tables(pending)
        writer.write_table(table, row_group_size=max(1, table.num_rows))
        pending.clear()


def _convert(t, stats: CorpusStats, ids: list, subjects: dict, pc, pa):
    """One block of published rows -> our columns; counts what the checks need."""
    n = t.num_rows
    pid = t.column("prompt_id")
    if pid.null_count:
        stats.examples.setdefault("missing prompt_id", [f"row {stats.rows + i}" for i in
                                                        np.flatnonzero(pc.is_null(pid).to_numpy(False))[:3]])
        pid = pc.fill_null(pid, -1)
    ids.append(pid.to_numpy())
    question = pc.fill_null(t.column("prompt"), "")
    response = pc.fill_null(t.column("response"), "")
    empty_q = blank_mask(question)
    empty_r = blank_mask(response)
    n_empty_q = pc.sum(empty_q).as_py() or 0
    if n_empty_q:
        stats.examples.setdefault("empty prompt", pc.filter(pid, empty_q).to_pylist()[:3])
    stats.empty_questions += n_empty_q
    stats.empty_responses += pc.sum(empty_r).as_py() or 0
    subject = pc.fill_null(t.column("subject"), "")
    for row in pc.value_counts(subject).to_pylist():
        subjects[row["values"]] = subjects.get(row["values"], 0) + row["counts"]
    stats.rows += n
    cols = {
        "question_id": pc.binary_join_element_wise(CORPUS_PREFIX, pc.cast(pid, pa.string()), ""),
        "question": question,
        "response": response,
        "answer": pc.fill_null(t.column("gold"), ""),
        "dataset": pa.array(np.full(n, CORPUS_DATASET, dtype=object), pa.string()),
        "subject": subject,
        "len": pc.cast(t.column("len"), pa.int64(), safe=False),
        "prompt_id": pid,
    }
    return pa.table([cols[c] for c in CORPUS_OUTPUT_COLUMNS], names=CORPUS_OUTPUT_COLUMNS)


def _check(stats: CorpusStats, ids: list, path: Path, what: str, fix: str) -> None:
    if "missing prompt_id" in stats.examples:
        raise DDCFError(f"The {what} {path} has rows without a prompt_id (e.g. "
                        f"{', '.join(stats.examples['missing prompt_id'])}).", fix)
    if stats.rows == 0:
        raise DDCFError(f"The {what} {path} has a header but no rows.", fix)
    all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
    uniq, counts = np.unique(all_ids, return_counts=True)
    stats.duplicate_ids = int((counts > 1).sum())
    if stats.duplicate_ids:
        raise DDCFError(f"The {what} {path} repeats {stats.duplicate_ids:,} prompt_id value(s) (e.g. "
                        f"{', '.join(map(str, uniq[counts > 1][:3]))}); every corpus question needs its own id.", fix)
    if stats.empty_questions:
        raise DDCFError(f"The {what} {path} has {stats.empty_questions:,} row(s) with an empty prompt (e.g. "
                        f"prompt_id {', '.join(map(str, stats.examples['empty prompt']))}).", fix)
