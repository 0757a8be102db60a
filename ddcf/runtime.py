"""Runtime helpers every stage shares: devices, cores, progress bars, optional dependencies.

One home for each, so a stage never re-implements them:

* :func:`resolve_device` / :func:`check_device`: ``auto | cpu | cuda | cuda:N`` with one error type;
* :func:`usable_cores`: the cores this process may run on (affinity / cgroup aware);
* :func:`progress`: a tqdm bar on a terminal, and a plain line every few seconds when the output
  is a log file (hundreds of ``\\r`` frames make logs unreadable);
* :func:`is_available` / :func:`require`: optional packages (GPU engines, TRL) checked up front,
  with a message that says what to install.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from typing import Any, Iterable

from ddcf.errors import DDCFError


class DeviceError(DDCFError):
    """A --device value that is malformed or asks for hardware this machine lacks."""


class MissingDependencyError(DDCFError):
    """An optional package a requested feature needs is not installed."""


# ---------------------------------------------------------------------------- devices
def check_device(device: str, flag: str = "--device") -> str:
    """Normalise a device spec without importing torch; raise :class:`DeviceError` when malformed."""
    dev = str(device).strip().lower()
    if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
        raise DeviceError(f"{flag} is '{device}'.", f"pass auto, cpu, cuda or cuda:N to {flag}.")
    return dev


def resolve_device(device: str, flag: str = "--device") -> str:
    """``auto`` becomes ``cuda`` when torch sees a GPU, else ``cpu``; asking for a missing GPU is an error."""
    dev = check_device(device, flag)
    if dev == "cpu":
        return dev
    import torch

    has_cuda = torch.cuda.is_available()
    if dev == "auto":
        return "cuda" if has_cuda else "cpu"
    if not has_cuda:
        raise DeviceError(f"{flag} {device} was asked for, but torch sees no CUDA GPU on this machine.",
                          f"pass {flag} cpu (or auto), or install the CUDA build of torch.")
    if ":" in dev and int(dev.split(":")[1]) >= torch.cuda.device_count():
        raise DeviceError(f"{flag} {device} was asked for, but torch sees {torch.cuda.device_count()} GPU(s).",
                          f"pass {flag} cuda:0 .. cuda:{torch.cuda.device_count() - 1}, or auto.")
    return dev


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (False when torch is not installed)."""
    if not is_available("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # respects taskset/cgroup affinity
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------------------- optional dependencies
def is_available(package: str) -> bool:
    """True when ``package`` can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def require(package: str, install_hint: str, purpose: str) -> None:
    """Raise :class:`MissingDependencyError` when ``package`` is missing; ``purpose`` says who needs it."""
    if not is_available(package):
        raise MissingDependencyError(
            f"{purpose} needs the Python package '{package}', which is not installed in this environment "
            f"({sys.executable}).",
            f"install it with `{install_hint}`, or choose an option that does not need it.",
        )


# ---------------------------------------------------------------------------- progress
PLAIN_INTERVAL_S = 10.0


class PlainProgress:
    """A progress 'bar' for logs: one line every ``interval`` seconds and one at the end."""

    def __init__(self, iterable: Iterable | None = None, total: int | None = None, desc: str = "",
                 unit: str = "it", interval: float = PLAIN_INTERVAL_S, file=None, **_: Any):
        self.iterable = iterable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.desc, self.unit, self.interval = desc, unit, interval
        self.file = file or sys.stderr
        self.n = 0
        self.postfix = ""
        self._start = self._last = time.monotonic()
        self._closed = False

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._emit(now)

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def refresh(self) -> None:
        """Nothing to redraw: lines are written on a timer."""

    def note(self, text: str) -> None:
        """Set the postfix and write a line now (the caller throttles: see :func:`progress_note`)."""
        self.postfix = text
        self._last = time.monotonic()
        self._emit(self._last)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._emit(time.monotonic())

    def _emit(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        done = f"{self.n:,}" + (f"/{self.total:,}" if self.total else "")
        pct = f" ({self.n / self.total:.0%})" if self.total else ""
        extra = f"  {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {done} {self.unit}{pct}, {self.n / elapsed:.1f} {self.unit}/s, "
              f"{elapsed:.0f} s{extra}", file=self.file, flush=True)


class _Silent(PlainProgress):
    def _emit(self, now: float) -> None:
        pass


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", unit: str = "it",
             enabled: bool = True, **kwargs: Any):
    """A progress bar: tqdm on a terminal, :class:`PlainProgress` in a log file, silent when disabled.

    Works as an iterable wrapper or, with ``total``, as an object with ``update(n)`` and ``close()``.
    """
    if not enabled:
        return _Silent(iterable, total=total, desc=desc, unit=unit)
    stream = kwargs.get("file") or sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        return PlainProgress(iterable, total=total, desc=desc, unit=unit, **kwargs)
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, dynamic_ncols=True, **kwargs)


def progress_note(bar, text: str) -> None:
    """Show ``text`` beside ``bar`` now, between two updates (e.g. tokens/s inside one long step).

    On a terminal it redraws the tqdm bar's postfix; in a log it writes one plain line; a disabled bar stays
    silent.  The caller decides how often (a line every few seconds in a log, see ``is_plain``).
    """
    if isinstance(bar, PlainProgress):
        bar.note(text)
    else:
        bar.set_postfix_str(text, refresh=True)


def is_plain(bar) -> bool:
    """Whether ``bar`` writes plain log lines (or nothing) rather than redrawing a terminal bar."""
    return isinstance(bar, PlainProgress)
