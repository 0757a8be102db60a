"""The trained correctness predictor's files, ``DDCF_data/predictor/``: weights, config, metrics.

``model.safetensors`` (written first), ``config.json`` (written last: a config always has its weights; it
records the SHA-256 of the weights file) and ``metrics.json``.  Building the network from them needs torch and
lives in :mod:`ddcf.predictor.store`; this module is the torch-free part every reader shares: the paths, the
config's format, its hash (the provenance later stages record) and the validated reads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ddcf.errors import DDCFError, InputMismatchError
from ddcf.io import file_sha256, read_side_file, require_file, write_json
from ddcf.layout import Layout

CONFIG_FORMAT = "ddcf-correctness-predictor"
CONFIG_VERSION = 1
RETRAIN_FIX = "retrain it with train_correctness_predictor.py."
#: keys every predictor config has (the architecture's own keys are checked by ddcf.predictor.store)
CONFIG_KEYS = ("format", "models", "weights_sha256", "architecture")


def paths(layout: Layout) -> dict[str, Path]:
    return {"weights": layout.predictor_weights, "config": layout.predictor_config,
            "metrics": layout.predictor_metrics}


def config_sha256(config: dict) -> str:
    """Hash of the canonical JSON of a config (stable across key order and whitespace)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def read_config(config_path: str | Path, weights: str | Path | None = None, fix: str = RETRAIN_FIX) -> dict:
    """A predictor config, validated: JSON object in ddcf's format with its models and weights hash; with
    ``weights``, also that the weights file is the one the config was written with."""
    cfg_path = Path(config_path)
    config = read_side_file(cfg_path, "predictor config", fix)
    missing = [k for k in ("models", "weights_sha256") if k not in config]
    if config.get("format") != CONFIG_FORMAT or missing:
        raise DDCFError(
            f"The predictor config {cfg_path} is not a ddcf correctness-predictor config"
            + (f" (missing: {', '.join(missing)})." if missing else "."),
            fix,
        )
    if weights is not None:
        w = require_file(Path(weights), "predictor weights", fix)
        if file_sha256(w) != config["weights_sha256"]:
            raise InputMismatchError(
                f"The predictor weights {w} do not match {cfg_path} (their SHA-256 differs from the one "
                "recorded at training time: the files come from different runs).",
                fix,
            )
    return config


def write_config(config: dict, layout_or_path: Layout | str | Path) -> Path:
    p = layout_or_path.predictor_config if isinstance(layout_or_path, Layout) else Path(layout_or_path)
    return write_json(config, p)


def read_metrics(layout: Layout, fix: str = "retrain the predictor (train_correctness_predictor.py).") -> dict:
    return read_side_file(layout.predictor_metrics, "predictor metrics", fix)


def write_metrics(metrics: dict, layout: Layout) -> Path:
    return write_json(metrics, layout.predictor_metrics)
