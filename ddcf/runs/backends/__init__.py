"""Generation backends behind one interface, registered by name.

Every backend turns a list of *token-id* prompts into ``n`` completions per
prompt::

    backend = create_backend("hf", "path/or/hub-id", BackendOptions())
    outs = backend.generate(prompt_ids, SamplingSpec(max_new_tokens=64))
    outs[i][s].text, outs[i][s].n_completion_tokens, outs[i][s].finish_reason

Prompts travel as token ids rather than text so the left truncation done by
:mod:`ddcf.generate.prompts` is exactly what the engine sees (no engine-side
re-tokenisation, no second BOS).  ``finish_reason`` is normalised to ``"stop"``
(EOS or a stop string) or ``"length"`` (hit ``max_new_tokens``).  Stop strings
are *not* part of the returned text, the convention of SGLang and vLLM.

Backends (one module each, imported only when asked for):

=========  ==========================================================
``sglang``  SGLang offline engine; the default when a CUDA GPU is visible
``vllm``    vLLM offline ``LLM``
``hf``      transformers ``generate`` (CPU / small scale; what tests run)
``dummy``   deterministic fake for tests and pipeline dry runs
=========  ==========================================================

Backends without native data parallelism (vLLM, hf) are replicated over GPUs
by :class:`ddcf.runs.backends.data_parallel.DataParallelBackend`.
"""

from __future__ import annotations

import importlib

from ddcf.errors import DDCFError, first_line
from ddcf.runs.backends.base import (  # noqa: F401 - the interface, re-exported: ddcf.runs.backends is its address
    _REGISTRY,
    ENGINE_PACKAGES,
    INSTALL_HINTS,
    Backend,
    BackendOptions,
    Completion,
    HFTokenizer,
    Prompt,
    SamplingSpec,
    backend_names,
    check_model_reference,
    cuda_device_count,
    cut_at_stop,
    get_backend_class,
    model_context_limit,
    normalise_finish_reason,
    register,
)
from ddcf.runs.backends.data_parallel import DataParallelBackend
from ddcf.runtime import is_available, require


def engine_installed(name: str) -> bool:
    pkg = ENGINE_PACKAGES.get(name)
    return pkg is None or is_available(pkg)


def require_engine(name: str):
    """Import a GPU engine package, or raise a DDCFError that says how to install it."""
    pkg = ENGINE_PACKAGES[name]
    require(pkg, INSTALL_HINTS[name], f"The '{name}' generation backend")
    try:
        return importlib.import_module(pkg)
    except ImportError as exc:  # installed but broken (e.g. a CUDA/torch version mismatch)
        raise DDCFError(
            f"The '{name}' backend needs the {pkg} package, which could not be imported ({first_line(exc)}).",
            f"reinstall it on the GPU machine ({INSTALL_HINTS[name]}), or pick another backend with "
            "--backend vllm / sglang / hf (hf is slow but needs nothing extra).",
        ) from None


def default_backend_name() -> str:
    """sglang when a GPU is visible (vllm if only that is installed), else hf."""
    if cuda_device_count() == 0:
        return "hf"
    if not engine_installed("sglang") and engine_installed("vllm"):
        return "vllm"
    return "sglang"


def create_backend(name: str, model: str, options: BackendOptions) -> Backend:
    """Instantiate a backend; data parallelism without engine support goes through a process pool."""
    cls = get_backend_class(name)
    if options.data_parallel_size > 1 and not cls.native_data_parallel:
        return DataParallelBackend(name, model, options)
    return cls(model, options)
