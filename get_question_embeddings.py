#!/usr/bin/env python
"""Stage 3: sentence embeddings of the seed and corpus questions.

Reads DDCF_data/seed/questions.parquet and DDCF_data/corpus/questions.parquet and writes
DDCF_data/embeddings/{seed,corpus}.npy with a JSON manifest and an id list each.
Identical texts are embedded once; work is cached by text hash in shards, so an
interrupted run resumes where it stopped. The end-of-run summary reports duplicates
skipped, cache hits, texts/s, tokens/s and wall time (benchmarks/bench_embed.py compares
the stage with plain SentenceTransformer.encode).

    python get_question_embeddings.py                                   # auto: MiniLM on CPU, Qwen3 on CUDA
    python get_question_embeddings.py --embedding_model Qwen/Qwen3-Embedding-4B --device cuda

The options are in ddcf/embed/config.py; the stage itself is ddcf/embed/stage.py.
"""

from ddcf.cli import run_main
from ddcf.embed.cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
