"""Engine and sampling options, written once; every model-running stage's config inherits them.

* :class:`ModelOptions` (``--dtype``, ``--batch_size``, ``--trust_remote_code``): what loading a model needs
  (``ddcf score`` has only these, its ``--backend`` is its own: scoring runs on hf or vLLM only);
* :class:`EngineOptions` adds the generation engine (``--backend``, ``--tensor_parallel_size``,
  ``--data_parallel_size``, ``--mem_fraction``): ``ddcf generate``, ``ddcf evaluate``, ``ddcf distill``;
* :class:`SamplingOptions` (``--temperature``, ``--top_p``, ``--top_k``, ``--seed``): a stage whose defaults
  differ (evaluation and distillation sample at 0.6) restates a field with :func:`restate`, which keeps its
  help text and range, so the option is still written in one place;
* :data:`OVERWRITE`: the one start-over flag (``--overwrite``) of every resumable stage;
  :func:`overwrite_option` declares it with a stage's earlier spelling as an alias.

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError
from ddcf.runs import backends as B

#: the start-over flag of every resumable stage (generate, evaluate, distill, score)
OVERWRITE = "--overwrite"
GPU_BACKENDS = ("sglang", "vllm")


def overwrite_option(what: str, aliases: tuple[str, ...] = ()):
    """``--overwrite``: delete this run's finished shards (``what``) and start over; ``aliases``: the stage's
    earlier spelling, still accepted on the command line."""
    return option(False, f"Delete {what} and start over (without it, a run made with other settings is refused "
                  "and names the settings that differ).", **({"aliases": aliases} if aliases else {}))


def restate(cls: type, name: str, default):
    """Field ``name`` of ``cls`` with another default: help text, range and choices stay the ones written there."""
    f = cls.__dataclass_fields__[name]
    meta = dict(f.metadata)
    return option(default, meta.pop("help"), **meta)


@dataclass
class ModelOptions(StageConfig):
    """Model loading: dtype, batch size, remote code."""

    dtype: str = option(
        "auto",
        "Weight/activation dtype (auto: bf16 on GPU, fp32 on CPU for hf; the engine's choice otherwise).",
        choices=("auto", "bfloat16", "float16", "float32"),
    )
    batch_size: int | None = option(
        None,
        "hf backend: prompts (or scored sequences) per forward/generate() call (default 8 on CPU, 32 on GPU); "
        "SGLang/vLLM schedule a whole shard themselves and ignore it.",
        min=1,
    )
    trust_remote_code: bool = option(False, "Allow model repos that ship their own Python code.")

    def backend_options(self, **over):
        """The :class:`~ddcf.runs.backends.BackendOptions` of these settings (``over`` wins)."""
        base = dict(dtype=self.dtype, batch_size=self.batch_size, trust_remote_code=self.trust_remote_code,
                    progress=self.progress)
        return B.BackendOptions(**{**base, **over})


@dataclass
class EngineOptions(ModelOptions):
    """Generation engine: backend, parallelism, GPU memory."""

    backend: str = option(
        "auto",
        "Generation engine: sglang (default when a CUDA GPU is visible), vllm, hf (transformers; CPU and small "
        "scale), dummy (fake, for tests).",
        choices=("auto", *B.backend_names()),
    )
    tensor_parallel_size: int = option(1, "GPUs per model replica (tensor parallelism).", min=1)
    data_parallel_size: int | None = option(
        None, "Model replicas (default: visible GPUs // tensor_parallel_size).", min=1
    )
    mem_fraction: float | None = option(
        None,
        "GPU memory fraction for weights + KV cache (SGLang mem_fraction_static / vLLM gpu_memory_utilization; "
        "default: the engine's).",
        min_excl=0.0,
        max=1.0,
    )

    def resolved_backend(self) -> str:
        return B.default_backend_name() if self.backend in (None, "", "auto") else self.backend

    def parallelism(self, backend_name: str) -> int:
        """Model replicas: --data_parallel_size, default all visible GPUs // tp; checks GPU engines have them."""
        if backend_name == "dummy":  # no engine: no need to import torch for the GPU count
            return self.data_parallel_size or 1
        n_gpus = B.cuda_device_count()  # the module's attribute: a test can stand in for the GPUs
        tp = self.tensor_parallel_size
        if backend_name in GPU_BACKENDS and n_gpus == 0:
            raise DDCFError(f"The {backend_name} backend needs a CUDA GPU, and none is visible.",
                            "run on a GPU machine, or use --backend hf for a (slow) CPU run.")
        if n_gpus == 0:
            return self.data_parallel_size or 1
        if tp > n_gpus:
            raise DDCFError(f"--tensor_parallel_size {tp} is larger than the {n_gpus} visible GPU(s).",
                            "lower it or expose more GPUs (CUDA_VISIBLE_DEVICES).")
        dp = self.data_parallel_size or max(n_gpus // tp, 1)
        if dp * tp > n_gpus:
            raise DDCFError(f"--data_parallel_size {dp} x --tensor_parallel_size {tp} needs {dp * tp} GPUs, but "
                            f"{n_gpus} are visible.", "lower --data_parallel_size or --tensor_parallel_size.")
        return dp

    def backend_options(self, **over):
        base = dict(tensor_parallel_size=self.tensor_parallel_size, data_parallel_size=self.data_parallel_size or 1,
                    mem_fraction=self.mem_fraction, seed=getattr(self, "seed", 0))
        return super().backend_options(**{**base, **over})


def open_engine(config: EngineOptions, model: str, backend_name: str | None = None, *,
                context_length: int | None = None):
    """The engine of ``config`` for ``model`` (replicated over the visible GPUs, see :meth:`parallelism`)."""
    name = backend_name or config.resolved_backend()
    opts = config.backend_options(data_parallel_size=config.parallelism(name), context_length=context_length)
    return B.create_backend(name, model, opts)


@dataclass
class SamplingOptions(StageConfig):
    """Sampling: temperature, nucleus, top-k, seed."""

    temperature: float = option(0.0, "Sampling temperature; 0 = greedy decoding.", min=0.0)
    top_p: float = option(1.0, "Nucleus sampling mass (only with --temperature > 0).", min_excl=0.0, max=1.0)
    top_k: int = option(-1, "Top-k sampling, -1 = off (only with --temperature > 0).")
    seed: int = option(0, "Random seed for sampling (per-question seeds derive from it).")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def sampling(self, max_new_tokens: int, n: int, stop, eos_ids):
        """The main generation's :class:`~ddcf.runs.backends.SamplingSpec` (greedy: no top-p/top-k/seed)."""
        greedy = self.greedy
        return B.SamplingSpec(max_new_tokens=max_new_tokens, n=n, temperature=self.temperature,
                            top_p=1.0 if greedy else self.top_p, top_k=-1 if greedy else self.top_k,
                            stop=tuple(stop), stop_token_ids=tuple(eos_ids), seed=None if greedy else self.seed)


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))
