"""Exact k-greedy with the candidate matrix split over several devices or CPU processes (issue 24).

Why: the single-device engines keep the whole N x d matrix in one place (one GPU's memory, or one process).
At 10 M x 2,560 float32 that is 102 GB, past any one GPU.  Here the rows are cut into S contiguous shards;
each shard keeps, for its own rows only, everything the straightforward method
(:mod:`ddcf.select.kgreedy.reference`) keeps for all rows: the float32 rows, the per-row error bounds, the
approximate max similarity to the picks (its redundancy vector), the taken mask and ``a = lamda * p``.
Every shard also holds the canonical rows of the picks (k x d float64, tiny), so it can evaluate its own
candidates exactly.

One pick is one round: the driver sends every shard the previous pick (its float32 row, approximate inverse
norm and error radius); each shard folds it into its redundancy vector and returns its *local* exact best
candidate (cost, global row index, signed max similarity, row); the driver keeps the smallest cost, ties to the
lowest global row index.

Why the picks are identical to the single-device engines for any S (bit for bit, with the same costs and
similarities): within a shard, the band of candidates whose cost bounds overlap the shard's best upper bound
contains every candidate of minimal exact cost, and :func:`resolve_band` returns the lowest-index one with its
canonical cost (:mod:`ddcf.select.kgreedy.exact`: canonical values do not depend on summation order, device or
blocking).  So each shard returns its exact (cost, index)-lexicographic minimum, and the minimum of those is
the global one - exactly what every single-device engine picks (ties: lowest row index, as ``np.argmin``).
The float32 products differ between shards and devices, but they only ever enter through rigorous bounds.

Backends:

* ``devices=["cuda:0", "cuda:1", ...]`` (or ``"cpu"`` entries, used by the tests): one torch tensor per shard,
  driven from this process; each round first launches every shard's update (asynchronous on CUDA, so the
  GPUs work at the same time), then collects the local bests.
* ``processes=S``: S worker processes (``multiprocessing``, fork on Linux), each reading its rows from shared memory -
  the embedding file itself when the input is a memory-mapped ``.npy`` (zero copy), else one
  ``multiprocessing.shared_memory`` block per shard, filled once by the driver.  Messages are a few
  kilobytes per pick through pipes; nothing is written to disk.

Memory per shard: rows x d x 4 (float32 rows) + rows x 41 bytes (approx, bounds, ``a``: float64; taken: bool)
+ k x d x 8 (canonical picks); see :func:`shard_bytes`.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import time
import warnings
from dataclasses import dataclass

import numpy as np

from ddcf.errors import DDCFError
from ddcf.runtime import progress as progress_bar
from ddcf.select.kgreedy.common import (
    KGreedyResult,
    eq5_costs,
    floor_flag,
    resolve_band,
    rows_f32,
    single_thread_blas,
    validate_inputs,
)
from ddcf.select.kgreedy.exact import (
    CanonicalStore,
    base_eps,
    canon_bits,
    canonicalize,
    compute_row_bounds,
    gemm_error,
)

PER_ROW_STATE = 8 + 8 + 8 + 8 + 1  # approx, bounds.inv, bounds.r, a (float64) + taken (bool)


def shard_bytes(n: int, d: int, shards: int, k: int, itemsize: int = 4) -> int:
    """Bytes one shard holds: its rows (``itemsize`` each), its O(rows) state and the k canonical picks."""
    rows = -(-n // shards)
    return rows * d * itemsize + rows * PER_ROW_STATE + k * (d * 8 + 8)


def shard_bounds(n: int, shards: int) -> list[tuple[int, int]]:
    """Contiguous row ranges, sizes differing by at most one (global order kept: ties go to the lowest index)."""
    if not 1 <= shards <= n:
        raise ValueError(f"shards must be in [1, {n}], got {shards}")
    cuts = [round(i * n / shards) for i in range(shards + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(shards)]


@dataclass
class Candidate:
    """A shard's exact local best: what the driver compares, and what every shard needs of the winner."""

    cost: float
    index: int  # global row
    max_similarity: float  # signed, NaN for the first pick
    row: np.ndarray  # float32 (d,)
    inv: float  # approximate 1/|x| (bounds.inv)
    r: float  # canonical rounding radius (bounds.r)
    band: int  # candidates resolved exactly


def reduce_candidates(cands: list[Candidate | None]) -> Candidate:
    """The smallest cost, ties to the lowest global row index (as np.argmin over all rows)."""
    best = None
    for c in cands:
        if c is not None and (best is None or c.cost < best.cost or (c.cost == best.cost and c.index < best.index)):
            best = c
    if best is None:  # k <= N is validated up front
        raise AssertionError("every shard is exhausted")
    return best


class _ShardState:
    """What one shard keeps and computes; the matrix-vector update and band search are numpy here."""

    def __init__(self, x, p, start: int, k: int, lamda: float, floor: bool, block_rows: int):
        self.x, self.start, self.floor, self.block_rows = x, start, floor, block_rows
        self.n, d = x.shape
        self.s = canon_bits(d)
        self.bounds = compute_row_bounds(x, self.s, block_rows=block_rows)
        self.base = base_eps(d, gemm_error(d, None))  # one float32 dot product, any order (BLAS or torch)
        self.a = float(lamda) * p  # p float64, as exact_setup computes a
        self.b = 1.0 - float(lamda)
        self.store = CanonicalStore(k, d)
        self.r_sel = 0.0
        self._init_state()

    def _init_state(self) -> None:
        self.approx = np.full(self.n, -np.inf)
        self.taken = np.zeros(self.n, dtype=bool)

    def add(self, pick: Candidate) -> None:
        """Fold the previous pick in: store its canonical row, mark it taken, raise the redundancy vector."""
        local = pick.index - self.start
        if 0 <= local < self.n:
            self._mark(local)
        m, inv = canonicalize(pick.row[None, :], self.s)
        self.store.append(m[0], inv[0])
        self.r_sel = max(self.r_sel, pick.r)
        if self.b != 0.0:
            self._update(pick.row, pick.inv)

    def _mark(self, local: int) -> None:
        self.taken[local] = True

    def _update(self, row: np.ndarray, inv_j: float) -> None:
        inv = self.bounds.inv
        for lo in range(0, self.n, self.block_rows):
            blk = slice(lo, min(self.n, lo + self.block_rows))
            g = rows_f32(self.x, blk) @ row
            np.maximum(self.approx[blk], g * inv[blk] * inv_j, out=self.approx[blk])

    def _band(self) -> np.ndarray | None:
        """Sorted local rows that might hold the local minimum (None when every row is taken)."""
        if self.b == 0.0:  # lamda = 1: the cost is a alone, no similarity enters
            c = np.where(self.taken, np.inf, self.a)
        else:
            eps = self.base + self.bounds.r + self.r_sel
            lo = eq5_costs(self.a, self.b, self.approx - eps, floor=self.floor)
            c = eq5_costs(self.a, self.b, self.approx + eps, floor=self.floor)
            lo[self.taken] = np.inf
            c[self.taken] = np.inf
            return None if np.isinf(c.min()) else np.flatnonzero(lo <= c.min())
        return None if np.isinf(c.min()) else np.flatnonzero(c == c.min())

    def best(self) -> Candidate | None:
        if self.store.n == 0:  # first pick: max over the empty set is 0
            c0 = eq5_costs(self.a, self.b, 0.0, floor=self.floor)
            j = int(np.argmin(c0))
            cost, msim, band = float(c0[j]), math.nan, 1
        else:
            cand = self._band()
            if cand is None:
                return None
            j, msim, cost = resolve_band(self.x, cand, self.s, self.store, self.a, self.b, floor=self.floor)
            band = len(cand)
        row = rows_f32(self.x, slice(j, j + 1))[0].copy()
        return Candidate(float(cost), self.start + j, float(msim), row, float(self.bounds.inv[j]),
                         float(self.bounds.r[j]), band)

    def step(self, pick: Candidate | None) -> Candidate | None:
        if pick is not None:
            self.add(pick)
        return self.best()


class _TorchShardState(_ShardState):
    """The same shard with its rows and redundancy vector on a torch device (TF32 off: IEEE float32 products)."""

    def __init__(self, x, p, start, k, lamda, floor, block_rows, device: str):
        import torch

        self.torch, self.device = torch, device
        super().__init__(x, p, start, k, lamda, floor, block_rows)
        self.xt = None
        if self.b != 0.0:
            self.xt = torch.empty(x.shape, dtype=torch.float32, device=device)
            for lo in range(0, self.n, block_rows):  # block by block: never a second host copy of the shard
                blk = np.ascontiguousarray(rows_f32(x, slice(lo, lo + block_rows)))
                with warnings.catch_warnings():  # a read-only memmap block: it is only copied from
                    warnings.simplefilter("ignore", UserWarning)
                    self.xt[lo : lo + block_rows] = torch.from_numpy(blk)
            f64 = dict(dtype=torch.float64, device=device)
            self.inv_t = torch.as_tensor(self.bounds.inv, **f64)
            self.a_t = torch.as_tensor(self.a, **f64)
            self.eps_t = torch.as_tensor(self.base + self.bounds.r, **f64)

    def _init_state(self) -> None:
        super()._init_state()  # the host taken mask serves the first pick and lamda = 1
        if self.b != 0.0:
            self.approx_t = self.torch.full((self.n,), -np.inf, dtype=self.torch.float64, device=self.device)
            self.taken_t = self.torch.zeros(self.n, dtype=self.torch.bool, device=self.device)

    def _mark(self, local: int) -> None:
        super()._mark(local)
        if self.b != 0.0:
            self.taken_t[local] = True

    def _update(self, row, inv_j) -> None:
        torch = self.torch
        r = torch.from_numpy(row).to(self.device)
        g = (self.xt @ r).to(torch.float64)
        torch.maximum(self.approx_t, g * self.inv_t * inv_j, out=self.approx_t)

    def _band(self):
        if self.b == 0.0:
            return super()._band()
        eps = self.eps_t + self.r_sel
        lo_sim, hi_sim = self.approx_t - eps, self.approx_t + eps
        if self.floor:  # max(0, .) is monotone: bounds on the max sim stay bounds on the redundancy
            lo_sim, hi_sim = lo_sim.clamp_min(0.0), hi_sim.clamp_min(0.0)
        lo = self.a_t + self.b * lo_sim
        hi = self.a_t + self.b * hi_sim
        lo[self.taken_t] = np.inf
        hi[self.taken_t] = np.inf
        top = hi.min()
        if bool(self.torch.isinf(top)):
            return None
        return self.torch.nonzero(lo <= top).flatten().cpu().numpy()


@contextlib.contextmanager
def _full_fp32():
    """TF32 off (10-bit products would break the float32 error bound), restored afterwards."""
    import torch

    old = (torch.backends.cuda.matmul.allow_tf32, torch.get_float32_matmul_precision())
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old[0]
        torch.set_float32_matmul_precision(old[1])


# --------------------------------------------------------------------------- process backend
def _file_view(x: np.ndarray):
    """(path, byte offset of row 0) when ``x`` is a C-contiguous view into a file-backed np.memmap, else None.

    The offset is taken from the addresses (a slice of a memmap inherits its parent's ``offset`` attribute)."""
    mm = getattr(x, "_mmap", None)
    base = x
    while mm is None and isinstance(getattr(base, "base", None), np.ndarray):
        base = base.base
        mm = getattr(base, "_mmap", None)
    path = getattr(base, "filename", None)
    if mm is None or path is None or not x.flags.c_contiguous:
        return None
    start = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    mapped_from = base.offset - base.offset % mmap.ALLOCATIONGRANULARITY  # where np.memmap starts its mapping
    return str(path), mapped_from + (x.ctypes.data - start)


def _worker(conn, src, shape, dtype, start, p, k, lamda, floor, block_rows, check_rows):
    """One shard in its own process: attach the rows, then answer one message per pick until None."""
    from multiprocessing import shared_memory

    shm = x = None
    try:
        if src[0] == "file":
            x = np.memmap(src[1], dtype=dtype, mode="r", offset=src[2], shape=shape).view(np.ndarray)
        else:
            shm = shared_memory.SharedMemory(name=src[1])
            x = np.ndarray(shape, dtype=dtype, buffer=shm.buf)
        if not (np.array_equal(x[0], check_rows[0]) and np.array_equal(x[-1], check_rows[1])):
            raise RuntimeError("shard rows do not match the driver's rows")  # a wrong offset: a bug, never silent
        with single_thread_blas():
            state = _ShardState(x, p, start, k, lamda, floor, block_rows)
            conn.send(("ready", None))
            while (msg := conn.recv()) is not None:  # ("step", previous pick or None for the first)
                conn.send(("ok", state.step(msg[1])))
    except Exception as exc:  # noqa: BLE001 - reported to the driver, which raises it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        del x  # the shared buffer must have no view left before it is closed
        if shm is not None:
            shm.close()
        conn.close()


def _check_shm_space(needed: int, where: str = "/dev/shm") -> None:
    """Refuse up front when the shared-memory file system cannot hold the shards: writing past a full tmpfs
    kills the writer with SIGBUS instead of raising (containers often mount a 64 MB /dev/shm)."""
    try:
        st = os.statvfs(where)
    except OSError:
        return  # no such mount (not Linux): shared_memory raises its own error
    free = st.f_bavail * st.f_frsize
    if free < needed:
        raise DDCFError(
            f"--kgreedy_shards needs {needed / 2**30:.2f} GiB of shared memory for the candidate rows, but {where} "
            f"has {free / 2**30:.2f} GiB free.",
            "enlarge it (docker run --shm-size=...), select from the whole embedding file (its rows are then mapped "
            "from the file, no copy), or use --kgreedy_devices.",
        )


class _ProcessShards:
    def __init__(self, x, p, bounds, k, lamda, floor, block_rows):
        import multiprocessing as mp
        from multiprocessing import shared_memory

        # fork where there is one: no re-import of the caller's __main__ (spawn needs a main guard there), and the
        # children never touch the parent's torch/CUDA state; spawn elsewhere.
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.blocks, self.procs, self.conns = [], [], []
        fv = _file_view(x)
        if fv is None:
            _check_shm_space(x.shape[0] * x.shape[1] * x.itemsize)
        try:
            for lo, hi in bounds:
                shape = (hi - lo, x.shape[1])
                if fv is not None:
                    src = ("file", fv[0], fv[1] + lo * x.shape[1] * x.itemsize)
                else:
                    shm = shared_memory.SharedMemory(create=True, size=max(1, (hi - lo) * x.shape[1] * x.itemsize))
                    self.blocks.append(shm)
                    dst = np.ndarray(shape, dtype=x.dtype, buffer=shm.buf)
                    for a in range(lo, hi, block_rows):
                        dst[a - lo : min(hi, a + block_rows) - lo] = x[a : min(hi, a + block_rows)]
                    del dst
                    src = ("shm", shm.name)
                parent, child = ctx.Pipe()
                proc = ctx.Process(target=_worker, daemon=True,
                                   args=(child, src, shape, x.dtype.str, lo, p[lo:hi], k, lamda, floor, block_rows,
                                         (np.array(x[lo]), np.array(x[hi - 1]))))
                proc.start()
                child.close()
                self.procs.append(proc)
                self.conns.append(parent)
            for c in self.conns:
                self._recv(c)
        except BaseException:
            self.close()
            raise

    def _recv(self, conn):
        try:
            kind, value = conn.recv()
        except EOFError:
            raise DDCFError("A k-greedy shard process died (killed, e.g. out of memory).",
                            "use fewer --kgreedy_shards, or free memory, and rerun.") from None
        if kind == "error":
            raise DDCFError(f"A k-greedy shard process failed: {value}.", "rerun with --kgreedy_shards 0 and report "
                            "the problem if the single engine works.")
        return value

    def step(self, pick):
        for c in self.conns:  # every worker computes at the same time
            c.send(("step", pick))
        return [self._recv(c) for c in self.conns]

    def close(self):
        for c in self.conns:
            with contextlib.suppress(OSError, BrokenPipeError):
                c.send(None)
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for c in self.conns:
            c.close()
        for shm in self.blocks:
            shm.close()
            with contextlib.suppress(FileNotFoundError):
                shm.unlink()
        self.blocks, self.procs, self.conns = [], [], []


class _LocalShards:
    def __init__(self, states):
        self.states = states

    def step(self, pick):
        if pick is not None:
            for s in self.states:  # CUDA launches are asynchronous: every device updates at once
                s.add(pick)
        return [s.best() for s in self.states]

    def close(self):
        self.states = []


def kgreedy_sharded(
    emb, predicted_correctness, k: int, lamda: float = 0.2, *, redundancy: str = "floor",
    devices: list[str] | None = None, processes: int | None = None, block_rows: int = 8192, progress: bool = False,
) -> KGreedyResult:
    """Exact k-greedy with the rows split over ``devices`` (torch, one shard each) or ``processes`` CPU workers
    (``processes=0``: one shard in this process, no worker - the single-process timing baseline).

    Picks, costs and similarities are identical to :func:`ddcf.select.kgreedy.reference.kgreedy_reference` for any
    number of shards (module docstring).  Give exactly one of ``devices`` and ``processes``.
    """
    floor = floor_flag(redundancy)
    if (devices is None) == (processes is None):
        raise ValueError("give exactly one of devices (a list of torch devices) or processes (a count)")
    t_start = time.perf_counter()
    file_src = emb if isinstance(emb, np.memmap) else None
    x, p, n, d = validate_inputs(emb, predicted_correctness, k, lamda)
    if file_src is not None and x.dtype == file_src.dtype:
        x = file_src  # keep the memmap so the workers can map the file themselves
    shards = len(devices) if devices is not None else max(1, int(processes))
    ranges = shard_bounds(n, shards)
    if devices is not None:
        import torch

        ctx = _full_fp32()
        with ctx, torch.no_grad():
            backend = _LocalShards([_TorchShardState(x[lo:hi], p[lo:hi], lo, k, lamda, floor, block_rows, dev)
                                    for (lo, hi), dev in zip(ranges, devices)])
            r = _drive(backend, k, lamda, progress, f"sharded-torch[{','.join(devices)}]")
    elif processes == 0:  # one numpy shard in this process: the single-process baseline of the same algorithm
        with single_thread_blas():
            r = _drive(_LocalShards([_ShardState(x, p, 0, k, lamda, floor, block_rows)]), k, lamda, progress,
                       "sharded-inprocess")
    else:
        backend = _ProcessShards(x, p, ranges, k, lamda, floor, block_rows)
        try:
            r = _drive(backend, k, lamda, progress, f"sharded-processes[{shards}]")
        finally:
            backend.close()
    r.seconds = time.perf_counter() - t_start
    r.stats.update(redundancy=redundancy, shards=shards, rows_per_shard=[hi - lo for lo, hi in ranges])
    return r


def _drive(backend, k, lamda, progress, name) -> KGreedyResult:
    picks = np.empty(k, dtype=np.int64)
    costs = np.empty(k)
    msims = np.full(k, np.nan)
    bands, step_s = [], []
    bar = progress_bar(total=k, desc=f"k-greedy ({name})", unit="pick", enabled=progress, leave=False)
    pick = None
    for step in range(k):
        t = time.perf_counter()
        pick = reduce_candidates(backend.step(pick))
        step_s.append(time.perf_counter() - t)
        picks[step], costs[step], msims[step] = pick.index, pick.cost, pick.max_similarity
        if step:
            bands.append(pick.band)
        bar.update(1)
    bar.close()
    stats = {"band_mean": float(np.mean(bands)) if bands else 0.0, "band_max": int(max(bands, default=0)),
             "seconds_per_pick_median": float(np.median(step_s[1:])) if k > 1 else 0.0}
    return KGreedyResult(picks, costs, msims, float(lamda), name, 0.0, stats)
