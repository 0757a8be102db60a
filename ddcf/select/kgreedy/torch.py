"""k-greedy selection with torch (CUDA when available, CPU otherwise).

Same objective, conventions and output as :mod:`ddcf.select.kgreedy.reference` (the reference), bit for bit.
On a GPU the straightforward method is already fast (a matrix-vector product over
the whole matrix costs ~1 ms at paper scale), so this is the reference algorithm
with the matrix resident on the device:

* per step, one float32 matrix-vector product (TF32 disabled, so the float32 error
  bound of :mod:`ddcf.select.kgreedy.exact` holds) updates every candidate's approximate
  max similarity, in float64;
* the candidates whose cost cannot be told apart from the best one within the
  rigorous bound (usually one to a few) are moved to the CPU and evaluated with the
  exact canonical arithmetic shared with the CPU selectors, so every implementation
  picks the same rows and reports the same numbers.

Memory: the float32 matrix is copied to the device once (N x d x 4 bytes); on the
CPU a float32 ndarray is used in place (no copy); other inputs are converted once.
"""

from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np

from ddcf.runtime import progress as progress_bar
from ddcf.runtime import resolve_device
from ddcf.select.kgreedy.common import KGreedyResult, eq5_costs, exact_setup, floor_flag, resolve_band, rows_f32
from ddcf.select.kgreedy.exact import canonicalize


@contextlib.contextmanager
def _full_fp32():
    """Disable TF32 (10-bit mantissa products) so float32 GEMMs meet the IEEE error bound."""
    import torch

    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision())
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old[0], old[1]
        torch.set_float32_matmul_precision(old[2])


def _to_device(x, device: str, block_rows: int):
    import torch

    n, d = x.shape
    if device == "cpu" and isinstance(x, np.ndarray) and x.dtype == np.float32 and x.flags.c_contiguous:
        with warnings.catch_warnings():  # read-only memmaps are fine: we never write to the tensor
            warnings.simplefilter("ignore", UserWarning)
            return torch.from_numpy(x)
    out = torch.empty((n, d), dtype=torch.float32, device=device)
    for a in range(0, n, block_rows):
        out[a : a + block_rows] = torch.from_numpy(np.ascontiguousarray(rows_f32(x, slice(a, a + block_rows))))
    return out


def kgreedy_torch(
    emb,
    predicted_correctness,
    k: int,
    lamda: float = 0.2,
    *,
    redundancy: str = "floor",
    device: str = "auto",
    block_rows: int = 8192,
    progress: bool = False,
) -> KGreedyResult:
    """Exact k-greedy on a torch device; identical picks to
    :func:`ddcf.select.kgreedy.reference.kgreedy_reference`."""
    import torch

    floor = floor_flag(redundancy)
    t_start = time.perf_counter()
    x, _, n, d, s, bounds, a, b, base, store = exact_setup(emb, predicted_correctness, k, lamda, block_rows)
    dev = resolve_device(device)
    lamda = float(lamda)
    picks = np.empty(k, dtype=np.int64)
    costs = np.empty(k)
    msims = np.full(k, np.nan)
    band_sizes = []
    with _full_fp32(), torch.no_grad():
        xt = _to_device(x, dev, block_rows) if b != 0.0 else None
        f64 = dict(dtype=torch.float64, device=dev)
        a_t = torch.as_tensor(a, **f64)
        inv_t = torch.as_tensor(bounds.inv, **f64)
        r_t = torch.as_tensor(bounds.r, **f64)
        approx = torch.full((n,), -np.inf, **f64)
        taken = torch.zeros(n, dtype=torch.bool, device=dev)
        taken_np = np.zeros(n, dtype=bool)
        r_sel = 0.0
        bar = progress_bar(total=k, desc=f"k-greedy (torch {dev})", unit="pick", enabled=progress, leave=False)
        for step in range(k):
            if step == 0:
                c0 = eq5_costs(a, b, 0.0, floor=floor)
                j = int(np.argmin(c0))
                cost_j = c0[j]
            elif b == 0.0:
                c = a.copy()
                c[taken_np] = np.inf
                j = int(np.argmin(c))
                mj, invj = canonicalize(rows_f32(x, [j]), s)
                msims[step] = store.max_sims(mj, invj)[0]
                cost_j = eq5_costs(a[j], b, msims[step], floor=floor)
            else:
                eps = base + r_t + r_sel
                lo_sim, hi_sim = approx - eps, approx + eps
                if floor:  # max(0, .) is monotone: bounds on the max sim stay bounds on the redundancy
                    lo_sim, hi_sim = lo_sim.clamp_min(0.0), hi_sim.clamp_min(0.0)
                lo = a_t + b * lo_sim
                hi = a_t + b * hi_sim
                lo[taken] = np.inf
                hi[taken] = np.inf
                band = torch.nonzero(lo <= hi.min()).flatten().cpu().numpy()
                band_sizes.append(len(band))
                j, msims[step], cost_j = resolve_band(x, band, s, store, a, b, floor=floor)
            picks[step] = j
            costs[step] = cost_j
            taken_np[j] = True
            mj, invj = canonicalize(rows_f32(x, slice(j, j + 1)), s)
            store.append(mj[0], invj[0])
            r_sel = max(r_sel, float(bounds.r[j]))
            if b != 0.0:
                taken[j] = True
                if step < k - 1:
                    g = (xt @ xt[j]).to(torch.float64)
                    torch.maximum(approx, g * inv_t * float(bounds.inv[j]), out=approx)
            bar.update(1)
        bar.close()
    stats = {"device": dev, "redundancy": redundancy, "band_mean": float(np.mean(band_sizes)) if band_sizes else 0.0,
             "band_max": int(max(band_sizes, default=0))}
    return KGreedyResult(picks, costs, msims, lamda, f"torch-{dev}", time.perf_counter() - t_start, stats)
