"""What every selector receives and returns, and the helpers several of them share."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ddcf.artifacts.embeddings import unit_rows
from ddcf.errors import DDCFError


@dataclass
class Context:
    layout: Any  # ddcf.layout.Layout
    config: Any  # ddcf.select.config.SelectConfig
    pool: Any  # ddcf.select.pools.Pool: x, ids, predicted_correctness, questions (aligned), meta
    k: int

    @property
    def seed(self) -> int:
        return int(self.config.seed)

    @property
    def model(self) -> str:
        return self.config.model_name

    @property
    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


@dataclass
class Picks:
    """Rows of the pool in pick order, and the method's own score of each pick (the table's ``cost`` column)."""

    indices: np.ndarray
    score: np.ndarray | None = None
    engine: str = ""
    stats: dict = field(default_factory=dict)
    seconds: float = 0.0
    max_similarity: np.ndarray | None = None  # at pick (ddcf computes it); else the stage computes it
    warnings: list[str] = field(default_factory=list)


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


def ranked(key: np.ndarray, k: int, descending: bool = False) -> np.ndarray:
    """The k rows of smallest (largest) ``key``; ties go to the earlier row (stable), so it is deterministic."""
    key = np.asarray(key, dtype=np.float64)
    order = np.argsort(-key if descending else key, kind="stable")
    return order[:k].astype(np.int64)


def sample(rng: np.random.Generator, candidates: np.ndarray, k: int, what: str, fix: str) -> np.ndarray:
    """A seeded sample of k of ``candidates`` (row indices), refused when there are fewer."""
    candidates = np.asarray(candidates, dtype=np.int64)
    if len(candidates) < k:
        raise DDCFError(f"--num_select {k:,} is larger than the {len(candidates):,} {what}.", fix)
    return np.sort(candidates)[rng.permutation(len(candidates))[:k]]


def max_similarity_at_pick(x, rows: np.ndarray) -> np.ndarray:
    """Cosine of each pick to its most similar earlier pick (NaN for the first): the ddcf column, for any method."""
    rows = np.asarray(rows)
    out = np.full(len(rows), np.nan)
    if len(rows) < 2:
        return out
    v = unit_rows(x, rows)
    best = np.full(len(rows), -np.inf)
    for i in range(1, len(rows)):  # k x k x d in blocks of one row: k = 10^4 is 10^8 d flops, seconds
        best[i:] = np.maximum(best[i:], v[i:] @ v[i - 1])
        out[i] = best[i]
    return out
