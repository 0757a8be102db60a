"""Options of stage 3 (get_question_embeddings.py, ``ddcf embed``), as one dataclass.

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import option
from ddcf.embed.models import PACKAGED_MINILM, PAPER_MODEL
from ddcf.errors import DDCFError
from ddcf.executors.options import ExecutorOptions
from ddcf.runtime import check_device

TABLES = ("seed", "corpus")
DTYPES = ("float32", "float16")
# Texts per forward pass when --batch_size is not given (why these values: ddcf/embed/batching.py).
CPU_BATCH_SIZE = 16
GPU_BATCH_SIZE = 64
# A shard (one cache chunk) is flushed after this many texts or this many seconds of embedding, whichever comes
# first, so a kill loses at most that much work (plus one batch): 2,048 MiniLM texts alone are over 30 s on 2 CPU cores
# (60 texts/s on short questions, well under that on long ones).
SHARD_SIZE = 2048
SHARD_SECONDS = 30.0


@dataclass
class EmbedConfig(ExecutorOptions):
    """Stage 3: embed the seed and corpus questions with a sentence-transformer.
    Reads DDCF_data/{seed,corpus}/questions.parquet; writes DDCF_data/embeddings/{seed,corpus}.npy with a .json
    manifest and an .ids.parquet id list each. Identical texts are embedded once and finished shards are
    cached by text hash, so an interrupted run resumes where it stopped."""

    embedding_model: str = option(
        "auto",
        f"Embedding model (a sentence-transformer): a Hub id, a local folder, or 'auto' = {PAPER_MODEL} (bf16, "
        f"left padding) on a CUDA machine that is online, else the offline packaged all-MiniLM-L6-v2 "
        f"({PACKAGED_MINILM}). --model is the older spelling of this option.",
        aliases=("--model",),
        metavar="MODEL",
    )
    device: str = option("auto", "Where to embed: auto (CUDA when available), cpu, cuda or cuda:N.")
    which: list[str] = option(list(TABLES), "Tables to embed: seed, corpus or both (comma-separated).",
                              metavar="TABLE")
    batch_size: int | None = option(
        None,
        f"Texts per forward pass (default: {CPU_BATCH_SIZE} on CPU, where small token-ordered batches are "
        f"fastest, {GPU_BATCH_SIZE} on CUDA).",
        min=1,
    )
    shard_size: int = option(
        SHARD_SIZE, "Most texts per checkpointed shard (a cache chunk); a rerun after an interruption redoes at "
        "most one shard.", min=1
    )
    shard_seconds: float = option(
        SHARD_SECONDS, "Most seconds of embedding per checkpointed shard: a shard is written after --shard_size "
        "texts or this long, whichever comes first, so a kill loses at most this much work (plus one batch).",
        min_excl=0,
    )
    dtype: str = option("float32", "Stored dtype of the .npy files.", choices=DTYPES)
    no_normalize: bool = option(False, "Store raw vectors instead of L2-normalised ones (not recommended).")
    overwrite: bool = option(
        False, "Embed everything again and then drop this model's earlier cached shards (they stay usable until "
        "the new vectors are written, so an interrupted --overwrite loses nothing).")

    def check(self) -> None:
        check_device(self.device, "--device")
        # Checked here rather than with ``choices``: argparse would refuse the comma form ("seed,corpus").
        unknown = [w for w in self.which if w not in TABLES]
        if unknown or not self.which:
            raise DDCFError(f"--which {','.join(self.which)!r} names unknown table(s) {unknown}.",
                            "use seed, corpus or seed,corpus.")
