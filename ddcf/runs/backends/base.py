"""The interface every generation backend implements (prompts as token ids in, ``n`` completions out), the
registry of backends by name, and the GPU count.  :mod:`ddcf.runs.backends` re-exports all of it; the
data-parallel replicas (:mod:`ddcf.runs.backends.data_parallel`) build on this module alone, so the package has no
import cycle.
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Sequence

from ddcf.errors import DDCFError, first_line
from ddcf.runtime import cuda_available

Prompt = Sequence[int]

@dataclass(frozen=True)
class SamplingSpec:
    """How to sample.  ``temperature == 0`` means greedy decoding."""

    max_new_tokens: int
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = -1  # -1: off
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stop"] = list(self.stop)
        d["stop_token_ids"] = list(self.stop_token_ids)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SamplingSpec":
        d = dict(d)
        d["stop"] = tuple(d.get("stop", ()))
        d["stop_token_ids"] = tuple(d.get("stop_token_ids", ()))
        return cls(**d)


@dataclass
class Completion:
    text: str
    n_prompt_tokens: int
    n_completion_tokens: int
    finish_reason: str  # 'stop' | 'length'

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BackendOptions:
    """Engine options.  Only some apply to each backend (see the option help in cli.py)."""

    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    mem_fraction: float | None = None
    dtype: str = "auto"
    batch_size: int | None = None
    seed: int = 0
    trust_remote_code: bool = False
    progress: bool = True
    #: engine context window (prompt + completion); None = the model's own (SGLang context_length, vLLM
    #: max_model_len; hf and dummy only report it as their context_limit)
    context_length: int | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def with_(self, **kw: Any) -> "BackendOptions":
        return replace(self, **kw)


def normalise_finish_reason(reason: Any) -> str:
    """Map engine-specific finish reasons ('stop', 'length', {'type': 'stop'}, 'eos', None) to stop/length."""
    if isinstance(reason, dict):
        reason = reason.get("type")
    reason = str(reason or "").lower()
    if reason in ("length", "max_tokens", "max_new_tokens"):
        return "length"
    return "stop"


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` before the earliest stop string; True when one was found."""
    best = -1
    for s in stop:
        if not s:
            continue
        i = text.find(s)
        if i != -1 and (best == -1 or i < best):
            best = i
    if best == -1:
        return text, False
    return text[:best], True


# --------------------------------------------------------------------------- tokenizers
class HFTokenizer:
    """The small slice of a transformers tokenizer that prompt building needs."""

    def __init__(self, tok: Any, eos_token_ids: Sequence[int], name: str = ""):
        self.tok = tok
        self.name = name
        self.eos_token_ids = [int(i) for i in dict.fromkeys(eos_token_ids)]
        self.bos_token_id = getattr(tok, "bos_token_id", None)
        pad = getattr(tok, "pad_token_id", None)
        self.pad_token_id = int(pad) if pad is not None else (self.eos_token_ids[0] if self.eos_token_ids else 0)

    @classmethod
    def load(cls, model: str, trust_remote_code: bool = False) -> "HFTokenizer":
        check_model_reference(model)
        try:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
        except Exception as exc:  # noqa: BLE001 - hub/offline/format errors all mean "cannot load this model"
            raise DDCFError(
                f"Could not load the tokenizer of '{model}': {type(exc).__name__}: {first_line(exc)}.",
                "check --model_name (a local model folder or a Hugging Face Hub id); a Hub id needs network "
                "access or a cached copy (huggingface-cli download NAME), and gated models need a token.",
            ) from None
        eos: list[int] = []
        if tok.eos_token_id is not None:
            eos.append(int(tok.eos_token_id))
        # Instruct models often end turns with a token that only generation_config lists (e.g. <|eot_id|>).
        try:
            from transformers import GenerationConfig

            gen_eos = GenerationConfig.from_pretrained(model).eos_token_id
            if gen_eos is not None:
                eos.extend(int(x) for x in (gen_eos if isinstance(gen_eos, (list, tuple)) else [gen_eos]))
        except Exception:  # noqa: BLE001 - a model without generation_config.json is normal
            pass
        return cls(tok, eos, name=model)

    def encode(self, texts: Sequence[str], add_special_tokens: bool = True) -> list[list[int]]:
        if not texts:
            return []
        return [list(x) for x in self.tok(list(texts), add_special_tokens=add_special_tokens)["input_ids"]]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=True)

    def decode_raw(self, ids: Sequence[int]) -> str:
        """``tokenizer.decode`` with its defaults (special tokens kept): the released prompt truncation's decode."""
        return self.tok.decode(list(ids))

    @property
    def eos_token(self) -> str | None:
        """The EOS token as text (a stop string of the reference prompt style), when the tokenizer has one."""
        return getattr(self.tok, "eos_token", None)

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tok, "chat_template", None))

    def apply_chat_template(self, messages: list[dict]) -> str:
        return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def check_model_reference(model: str) -> None:
    """Fail early, with a clear message, on a local-looking model path that does not exist."""
    looks_local = model.startswith(("/", "./", "../", "~")) or os.sep in model and model.count("/") > 1
    if looks_local and not Path(os.path.expanduser(model)).exists():
        raise DDCFError(
            f"The model path '{model}' does not exist.",
            "pass an existing local model folder or a Hugging Face Hub id (owner/name) as --model_name.",
        )


def model_context_limit(model: str, trust_remote_code: bool = False) -> int | None:
    """max_position_embeddings from the model's config, when it can be read."""
    try:
        from transformers import AutoConfig

        cfg = AutoConfig.from_pretrained(model, trust_remote_code=trust_remote_code)
        cfg = getattr(cfg, "text_config", None) or cfg
        value = getattr(cfg, "max_position_embeddings", None)
        return int(value) if value else None
    except Exception:  # noqa: BLE001 - informational only
        return None


# --------------------------------------------------------------------------- interface
class Backend(ABC):
    """One generation engine for one model."""

    name: ClassVar[str] = ""
    #: True when the engine spreads data-parallel replicas itself (SGLang's dp_size).
    native_data_parallel: ClassVar[bool] = False

    def __init__(self, model: str, options: BackendOptions):
        self.model = model
        self.options = options

    @classmethod
    def load_tokenizer(cls, model: str, options: BackendOptions):
        """The tokenizer the runner builds prompts with (the engine's own, for real backends)."""
        return HFTokenizer.load(model, options.trust_remote_code)

    @property
    @abstractmethod
    def tokenizer(self): ...

    @property
    def context_limit(self) -> int | None:
        """Longest prompt+completion the model accepts, when known."""
        return None

    @abstractmethod
    def generate(
        self, prompts: Sequence[Prompt], spec: SamplingSpec, seeds: Sequence[int] | None = None
    ) -> list[list[Completion]]:
        """``n`` completions per prompt, in prompt order.  ``seeds``: optional per-prompt seeds."""

    def info(self) -> dict:
        return {"backend": self.name}

    def close(self) -> None:
        """Free the engine (GPU memory, worker processes)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- registry
# name -> "module:Class"; modules import their engine lazily, so listing names is free.
_REGISTRY: dict[str, str] = {
    "sglang": "ddcf.runs.backends.sglang:SGLangBackend",
    "vllm": "ddcf.runs.backends.vllm:VLLMBackend",
    "hf": "ddcf.runs.backends.hf:HFBackend",
    "dummy": "ddcf.runs.backends.dummy:DummyBackend",
}

ENGINE_PACKAGES = {"sglang": "sglang", "vllm": "vllm"}
# Each engine pins its own torch/transformers, so it gets its own environment from requirements/gpu-<name>.txt.
INSTALL_HINTS = {name: f"make gpu-env ENGINE={name} (its own environment, .venv-{name}, from "
                       f"requirements/gpu-{name}.txt; or pip install -e \".[{name}]\")" for name in ("sglang", "vllm")}


def register(name: str, target: str) -> None:
    """Register a backend class given as ``"package.module:Class"``."""
    _REGISTRY[name] = target


def backend_names() -> list[str]:
    return list(_REGISTRY)


def get_backend_class(name: str) -> type[Backend]:
    if name not in _REGISTRY:
        raise DDCFError(
            f"Unknown generation backend '{name}'.", f"use one of: {', '.join(backend_names())} (or 'auto')."
        )
    module, _, cls = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def cuda_device_count() -> int:
    """Visible CUDA GPUs (0 without torch or without a GPU)."""
    if not cuda_available():
        return 0
    import torch

    return torch.cuda.device_count()
