"""The report's progress: one bar over its steps (a tqdm bar on a terminal, a line per step and every few
seconds in a log), with a heartbeat inside steps that are one long library call (the UMAP / t-SNE fit), so the
report is never silent for more than :data:`HEARTBEAT_S` seconds.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from ddcf.runtime import progress, progress_note

HEARTBEAT_S = 5.0


class Steps:
    def __init__(self, total: int | None, enabled: bool, heartbeat_s: float = HEARTBEAT_S):
        self.bar = progress(total=total, desc="report", unit="step", enabled=enabled)
        self.heartbeat_s = heartbeat_s

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Announce ``name`` now, repeat it with the elapsed time every ``heartbeat_s`` until it ends."""
        progress_note(self.bar, name)
        done = threading.Event()
        start = time.monotonic()

        def beat() -> None:
            while not done.wait(self.heartbeat_s):
                progress_note(self.bar, f"{name} ({time.monotonic() - start:.0f} s)")

        ticker = threading.Thread(target=beat, daemon=True, name="report-heartbeat")
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()
        self.bar.update(1)

    def set_total(self, total: int) -> None:
        self.bar.total = total
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
