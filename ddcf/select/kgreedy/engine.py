"""The k-greedy engine a stage calls: the best implementation for the device, all picking the same rows."""

from __future__ import annotations

from ddcf.runtime import resolve_device
from ddcf.select.kgreedy.common import KGreedyResult
from ddcf.select.kgreedy.lazy import kgreedy_fast
from ddcf.select.kgreedy.torch import kgreedy_torch


def select(x, predicted_correctness, k: int, lamda: float, device: str = "auto",
           progress: bool = False, redundancy: str = "floor", shards: int = 0,
           devices: list[str] | None = None) -> KGreedyResult:
    """Exact k-greedy on the best engine for ``device`` (auto: CUDA when torch sees one, else the CPU);
    ``redundancy`` as ``--redundancy`` (floor: the released code, signed: eq. 5 as written)."""
    if shards or devices:  # the matrix split over CPU processes or several devices (issue 24): same picks
        from ddcf.select.kgreedy.sharded import kgreedy_sharded

        return kgreedy_sharded(x, predicted_correctness, k, lamda, redundancy=redundancy, devices=devices or None,
                               processes=None if devices else shards, progress=progress)
    dev = resolve_device(device, "--device")
    if dev.startswith("cuda"):
        return kgreedy_torch(x, predicted_correctness, k, lamda, redundancy=redundancy, device=dev,
                             progress=progress)
    return kgreedy_fast(x, predicted_correctness, k, lamda, redundancy=redundancy, progress=progress)
