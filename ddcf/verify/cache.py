"""Persistent cache of math-verify verdicts, keyed by (normalised prediction, normalised gold).

Only the pairs that needed math-verify are stored: the fast exact/numeric path
is cheaper to recompute than to look up.  Rows from another verifier version
are ignored (a change in normalisation could change a verdict).  A timed-out
pair is retried only when the new time limit is larger than the one it failed
under.  The file is a disposable Parquet table, rewritten atomically; a
corrupt one is ignored with a warning, never fatal.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from ddcf.io import write_parquet

CACHE_COLUMNS = ["pred", "gold", "correct", "status", "timeout_s", "version"]


class VerifyCache:
    def __init__(self, path: str | Path | None, version: str):
        self.path = Path(path) if path else None
        self.version = version
        self._rows: dict[tuple[str, str], tuple[bool, str, float]] = {}
        self._dirty = False
        self.loaded = 0
        if self.path is not None and self.path.exists():
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        try:
            df = pd.read_parquet(self.path)
            if not set(CACHE_COLUMNS) <= set(df.columns):
                raise ValueError(f"missing columns {set(CACHE_COLUMNS) - set(df.columns)}")
        except Exception as exc:  # noqa: BLE001 - a broken cache only costs time
            warnings.warn(f"ignoring unreadable verify cache {self.path}: {exc}", stacklevel=2)
            return
        df = df[df["version"] == self.version]
        for p, g, c, s, t in zip(df["pred"], df["gold"], df["correct"], df["status"], df["timeout_s"]):
            self._rows[(str(p), str(g))] = (bool(c), str(s), float(t))
        self.loaded = len(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, pred: str, gold: str, timeout: float) -> tuple[bool, str] | None:
        hit = self._rows.get((pred, gold))
        if hit is None:
            return None
        correct, status, t = hit
        if status == "timeout" and timeout > t:
            return None  # a longer limit might succeed now
        return correct, status

    def put(self, pred: str, gold: str, correct: bool, status: str, timeout: float) -> None:
        self._rows[(pred, gold)] = (bool(correct), str(status), float(timeout))
        self._dirty = True

    def save(self) -> Path | None:
        if self.path is None or not self._dirty:
            return None
        keys = sorted(self._rows)  # sorted: the same cache content gives the same file
        df = pd.DataFrame(
            {
                "pred": [k[0] for k in keys],
                "gold": [k[1] for k in keys],
                "correct": [self._rows[k][0] for k in keys],
                "status": [self._rows[k][1] for k in keys],
                "timeout_s": [self._rows[k][2] for k in keys],
                "version": self.version,
            },
            columns=CACHE_COLUMNS,
        )
        write_parquet(df, self.path, metadata={"what": "ddcf verify cache", "version": self.version})
        self._dirty = False
        return self.path
