"""Everything ``ddcf pull`` checks about a published predictor before a byte of it is installed.

A pulled repo is someone else's files: its config is read as JSON of the right types, its weights' header is
read without loading them (floating dtypes, offsets that fit the file), the architecture the config asks for is
built on PyTorch's ``meta`` device (no memory) and its tensor shapes compared with the header's, so a config
asking for a huge network is refused before anything is allocated; the loaded weights must then be finite and
of a sane size, the calibration temperature positive and finite, and ``metrics.json`` (when shipped) readable.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from ddcf.errors import DDCFError
from ddcf.io import file_sha256, read_side_file, side_value
from ddcf.predictor.store import arch_keys, build_model

FLOAT_DTYPES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
#: trained predictor weights are O(1); a magnitude past this is a damaged or hostile file, not a predictor
MAX_ABS_WEIGHT = 1e4
MAX_HEADER_BYTES = 100 << 20


def _fix(source: str) -> str:
    return (f"pull a predictor published with `ddcf push predictor` (the repo {source} holds a damaged or "
            "hand-made one), or train your own with train_correctness_predictor.py.")


def check_config(cfg_path: Path, weights: Path, source: str) -> dict:
    """The config, with every field the loader and later stages use checked for type and range."""
    fix = _fix(source)
    what = "pulled predictor config"
    cfg = read_side_file(cfg_path, what, fix, dict)
    side_value(cfg, "format", str, cfg_path, what, fix)
    side_value(cfg, "weights_sha256", str, cfg_path, what, fix)
    models = side_value(cfg, "models", list, cfg_path, what, fix)
    if not models or not all(isinstance(m, str) and m.strip() for m in models) or len(set(models)) != len(models):
        raise DDCFError(f"The {what} {cfg_path} must list its models as distinct non-empty names.", fix)
    arch = side_value(cfg, "architecture", dict, cfg_path, what, fix)
    for key, value in arch.items():
        if key in ("arch", "p_correct"):
            side_value(arch, key, str, cfg_path, what, fix)
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise DDCFError(f"The {what} {cfg_path} has architecture {key!r} = {str(value)[:40]!r}; it must be a "
                            "finite number of at least 0.", fix)
    for key in ("embedding", "calibration"):
        side_value(cfg, key, dict, cfg_path, what, fix, required=False)
    temp = (cfg.get("calibration") or {}).get("temperature")
    if temp is not None and (isinstance(temp, bool) or not isinstance(temp, (int, float)) or not math.isfinite(temp)
                             or temp <= 0):
        raise DDCFError(f"The {what} {cfg_path} has the calibration temperature {temp!r}; it must be a positive "
                        "finite number (a negative one would swap easy and hard questions).", fix)
    if file_sha256(weights) != cfg["weights_sha256"]:
        raise DDCFError(f"The weights {weights} of {source} do not match its config {cfg_path} (their SHA-256 "
                        "differs from the one the config records).", fix)
    return cfg


def weights_header(weights: Path, source: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Tensor name -> (dtype, shape) from a safetensors header, checked against the file, nothing loaded."""
    fix = _fix(source)
    size = weights.stat().st_size
    with open(weights, "rb") as fh:
        head = fh.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if not 0 < n <= min(MAX_HEADER_BYTES, size - 8):
            raise DDCFError(f"The weights {weights} of {source} are not a safetensors file (header length {n}).",
                            fix)
        try:
            header = json.loads(fh.read(n))
        except (ValueError, UnicodeDecodeError):
            raise DDCFError(f"The weights {weights} of {source} have an unreadable safetensors header.",
                            fix) from None
    if not isinstance(header, dict):
        raise DDCFError(f"The weights {weights} of {source} have an unreadable safetensors header.", fix)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, offsets = (info.get(k) if isinstance(info, dict) else None
                                 for k in ("dtype", "shape", "data_offsets"))
        if dtype not in FLOAT_DTYPES:
            raise DDCFError(f"The weights {weights} of {source} store the tensor {name!r} as {dtype}; predictor "
                            f"weights are floating point ({', '.join(FLOAT_DTYPES)}).", fix)
        if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
                or not isinstance(offsets, list) or len(offsets) != 2
                or offsets[1] - offsets[0] != math.prod(shape) * FLOAT_DTYPES[dtype] or offsets[1] > size - 8 - n):
            raise DDCFError(f"The weights {weights} of {source} describe the tensor {name!r} with a shape or "
                            "offsets that do not fit the file (cut short or damaged).", fix)
        out[name] = (dtype, tuple(shape))
    return out


def check_shapes(cfg: dict, header: dict, cfg_path: Path, source: str) -> None:
    """The architecture the config describes, built without memory, has exactly the header's tensors."""
    import torch


    fix = _fix(source)
    arch = cfg["architecture"]
    missing = [k for k in arch_keys(arch) if k not in arch]
    if missing:
        raise DDCFError(f"The pulled predictor config {cfg_path} lacks the architecture key(s) "
                        f"{', '.join(missing)}.", fix)
    try:
        with torch.device("meta"):
            model = build_model(arch)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise DDCFError(f"The architecture in the pulled predictor config {cfg_path} cannot be built: {exc}.",
                        fix) from None
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: shape for k, (_, shape) in header.items()}
    if want != got:
        diff = sorted(set(want.items()) ^ set(got.items()))[:3]
        raise DDCFError(f"The weights of {source} do not have the shapes its config {cfg_path} describes (e.g. "
                        f"{'; '.join(f'{k} {list(s)}' for k, s in diff)}).", fix)


def check_values(model, source: str) -> None:
    """Loaded weights: finite and of a size a trained predictor has."""
    import torch

    for name, t in model.state_dict().items():
        if not torch.is_floating_point(t):
            continue
        if not torch.isfinite(t).all():
            raise DDCFError(f"The weights of {source} hold NaN or infinite values (tensor {name!r}).",
                            _fix(source))
        if t.numel() and t.abs().max().item() > MAX_ABS_WEIGHT:
            raise DDCFError(f"The weights of {source} hold values of magnitude {t.abs().max().item():.3g} (tensor "
                            f"{name!r}); a trained predictor's stay far below {MAX_ABS_WEIGHT:g}.", _fix(source))


def check_metrics(path: Path, source: str) -> dict:
    """``metrics.json`` as the pull summary and ``ddcf summary`` read it: an object whose ``final`` maps
    names to objects of numbers."""
    fix = _fix(source) + " You may also delete metrics.json from the copy you pull."
    what = "pulled predictor metrics"
    metrics = read_side_file(path, what, fix, dict)
    final = side_value(metrics, "final", dict, path, what, fix, required=False) or {}
    for name, row in final.items():
        if not isinstance(row, dict) or not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                                                for v in row.values()):
            raise DDCFError(f"The {what} file {path} has the row {str(name)[:60]!r} in 'final' that is not an "
                            "object of numbers.", fix)
    side_value(metrics, "final_split", str, path, what, fix, required=False)
    return metrics
