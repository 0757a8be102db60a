"""Stage 5 (difficulty estimation) as a shard job: one shard per ``--chunk_size`` corpus rows.

The local path scores the memory-mapped corpus chunk by chunk (``ddcf.difficulty.scoring.score_chunks``); here
each chunk is a shard, scored by a worker with the same function on the same rows, so every number is
byte-identical.  A shard writes ``p.npy`` (and ``se.npy`` / ``fact.npy`` when asked) into
``factorized_data/.difficulty_shards/<key>/shard-NNNNN/``, then ``done.json`` last.  ``<key>`` hashes
everything the numbers depend on (predictor, corpus ids, models, chunk size, device, outputs), so shards of
another run are never mixed in; the driver assembles the finished shards into the stage's usual files and
removes the folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ddcf.difficulty.scoring import score_chunks
from ddcf.executors.base import Executor, Shard, ShardJob
from ddcf.io import load_embeddings, write_json, write_npy
from ddcf.predictor.store import load_predictor

SHARDS_DIR = ".difficulty_shards"


@dataclass
class DifficultyJob(ShardJob):
    predictor_config: Path
    predictor_weights: Path
    corpus_embeddings: Path
    n_rows: int
    model_ids: list
    chunk_size: int
    device: str
    out_dir: Path
    factorized: bool
    member_spread: bool
    text: np.ndarray | None = None  # the text statistics of every corpus row, when the predictor reads them
    #: torch threads per worker: the local path's count, because torch's reductions (the members' spread) can
    #: differ in the last bit between thread counts; Ray reserves that many CPUs per worker
    threads: int = 1
    name = "scoring"
    unit = "q"

    def shards(self) -> list[Shard]:
        return [Shard(i, min(self.chunk_size, self.n_rows - a), (a, min(self.n_rows, a + self.chunk_size)))
                for i, a in enumerate(range(0, self.n_rows, self.chunk_size))]

    def shard_dir(self, shard: Shard) -> Path:
        return self.out_dir / f"shard-{shard.index:05d}"

    def marker(self, shard: Shard) -> Path:
        return self.shard_dir(shard) / "done.json"

    def resources(self) -> dict:
        return {"num_cpus": 1, "num_gpus": 1} if self.device.startswith("cuda") else {"num_cpus": self.threads}

    def _device(self) -> str:
        return "cuda" if self.device.startswith("cuda") else self.device  # Ray gives each worker its GPU

    def open(self):
        torch.set_num_threads(self.threads)
        pred = load_predictor(self.predictor_config, self.predictor_weights, device="cpu")
        corpus, _, _ = load_embeddings(self.corpus_embeddings, "corpus embeddings", mmap=True, check_finite=False)
        return pred, corpus

    def run_shard(self, state, shard: Shard) -> None:
        pred, corpus = state
        a, b = shard.payload
        fact = np.empty((b - a, pred.model.factor_dim), np.float32) if self.factorized else None
        se = np.empty((len(self.model_ids), b - a), np.float32) if self.member_spread else None
        text = None if self.text is None else self.text[a:b]
        p = score_chunks(pred, corpus[a:b], self.model_ids, self.chunk_size, self._device(), fact, False,
                         text=text, se_out=se)
        d = self.shard_dir(shard)
        write_npy(p, d / "p.npy")
        if se is not None:
            write_npy(se, d / "se.npy")
        if fact is not None:
            write_npy(fact, d / "fact.npy")
        write_json({"rows": [a, b]}, self.marker(shard))


def _torch_threads() -> int:
    return torch.get_num_threads()


def run_key(pred, corpus_hash: str, model_ids, chunk_size: int, device: str, factorized: bool, spread: bool,
            text: bool) -> str:
    parts = dict(config=pred.config_sha256, weights=pred.config.get("weights_sha256"), corpus=corpus_hash,
                 models=list(map(int, model_ids)), chunk=chunk_size, device=device, fact=factorized, se=spread,
                 text=text)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def score_with_executor(executor: Executor, layout, pred, corpus_hash: str, n_rows: int, model_ids: list[int],
                        chunk_size: int, device: str, factorized_out: np.ndarray | None = None,
                        progress: bool = True, text: np.ndarray | None = None, se_out: np.ndarray | None = None):
    """What ``score_chunks`` returns (and fills), computed shard by shard on ``executor``; returns
    ``(P(correct) of shape (models, rows), the executor's summary)``."""
    key = run_key(pred, corpus_hash, model_ids, chunk_size, device, factorized_out is not None,
                  se_out is not None, text is not None)
    out_dir = layout.factorized / SHARDS_DIR / key
    job = DifficultyJob(Path(layout.predictor_config), Path(layout.predictor_weights), Path(layout.corpus_embeddings),
                        n_rows, list(model_ids), chunk_size, device, out_dir, factorized_out is not None,
                        se_out is not None, text, threads=_torch_threads())
    summary = executor.run(job, progress=progress)
    probs = np.empty((len(model_ids), n_rows), np.float32)
    for shard in job.shards():
        a, b = shard.payload
        d = job.shard_dir(shard)
        probs[:, a:b] = np.load(d / "p.npy", allow_pickle=False)
        if se_out is not None:
            se_out[:, a:b] = np.load(d / "se.npy", allow_pickle=False)
        if factorized_out is not None:
            factorized_out[a:b] = np.load(d / "fact.npy", allow_pickle=False)
    shutil.rmtree(out_dir, ignore_errors=True)  # assembled: the stage's own files are the result from here on
    return probs, summary
