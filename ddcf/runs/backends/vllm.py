"""vLLM offline ``LLM`` backend.

Install on the GPU box with ``make gpu-env ENGINE=vllm`` (requirements/gpu-vllm.txt); the package is imported only
when this backend is created.

Throughput notes:

* **Prefix cache.**  We construct ``LLM(..., enable_prefix_caching=True)``
  (the default in recent vLLM, explicit here for older ones).  The runner
  sends a whole shard ordered by dataset then length, so the few-shot prefix
  shared by every question of a dataset is computed once per engine.
* **Parallelism.**  ``tensor_parallel_size`` = ``--tensor_parallel_size``.
  vLLM's offline ``LLM`` has no in-process data parallelism, so
  ``--data_parallel_size > 1`` runs one engine per GPU group in worker
  processes (:mod:`ddcf.runs.backends.data_parallel`).  ``gpu_memory_utilization``
  = ``--mem_fraction`` when given.
* **n samples** use vLLM's native ``SamplingParams(n=...)``; each request
  gets its own ``seed`` (derived from ``--seed`` and the question id by the
  runner), so a resumed shard samples exactly what it would have sampled.
* Every sampling option is explicit (``repetition_penalty=1`` ...), so the
  model's generation_config.json defaults never apply.
"""

from __future__ import annotations

from typing import Any, Sequence

from ddcf.runs.backends import (
    Backend,
    BackendOptions,
    Completion,
    Prompt,
    SamplingSpec,
    normalise_finish_reason,
    require_engine,
)


def llm_kwargs(model: str, options: BackendOptions) -> dict:
    kw: dict[str, Any] = dict(
        model=model,
        tensor_parallel_size=options.tensor_parallel_size,
        seed=options.seed,
        trust_remote_code=options.trust_remote_code,
        enable_prefix_caching=True,
        dtype=options.dtype or "auto",
    )
    if options.mem_fraction is not None:
        kw["gpu_memory_utilization"] = options.mem_fraction
    if options.context_length is not None:
        kw["max_model_len"] = options.context_length
    kw.update(options.extra.get("vllm", {}))
    return kw


def sampling_kwargs(spec: SamplingSpec, seed: int | None) -> dict:
    kw: dict[str, Any] = dict(
        n=spec.n,
        max_tokens=spec.max_new_tokens,
        temperature=0.0 if spec.greedy else spec.temperature,
        top_p=1.0 if spec.greedy else spec.top_p,
        top_k=spec.top_k if (not spec.greedy and spec.top_k and spec.top_k > 0) else -1,
        min_p=0.0,
        repetition_penalty=1.0,
        frequency_penalty=0.0,
        presence_penalty=0.0,
        stop=list(spec.stop),
        stop_token_ids=list(spec.stop_token_ids),
        skip_special_tokens=True,
    )
    if seed is not None and not spec.greedy:
        kw["seed"] = int(seed) & 0x7FFFFFFF
    return kw


def build_requests(
    prompts: Sequence[Prompt], spec: SamplingSpec, seeds: Sequence[int] | None, make_params=None
) -> tuple[list[dict], list[Any]]:
    """One token prompt and one SamplingParams per prompt.  ``make_params`` defaults to vllm.SamplingParams."""
    if make_params is None:
        make_params = require_engine("vllm").SamplingParams
    reqs = [{"prompt_token_ids": list(map(int, p))} for p in prompts]
    params = [
        make_params(**sampling_kwargs(spec, seeds[i] if seeds is not None else spec.seed)) for i in range(len(prompts))
    ]
    return reqs, params


def parse_outputs(outputs: Sequence[Any], prompts: Sequence[Prompt], spec: SamplingSpec) -> list[list[Completion]]:
    """vLLM ``RequestOutput`` objects (in request order) -> n completions per prompt."""
    if len(outputs) != len(prompts):
        raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(prompts)} prompts")
    result = []
    for p, ro in zip(prompts, outputs):
        n_prompt = len(getattr(ro, "prompt_token_ids", None) or p)
        comps = list(ro.outputs)
        if len(comps) != spec.n:
            raise RuntimeError(f"vLLM returned {len(comps)} samples for a prompt, expected {spec.n}")
        comps.sort(key=lambda c: getattr(c, "index", 0))
        result.append(
            [
                Completion(
                    text=c.text or "",
                    n_prompt_tokens=n_prompt,
                    n_completion_tokens=len(getattr(c, "token_ids", None) or ()),
                    finish_reason=normalise_finish_reason(c.finish_reason),
                )
                for c in comps
            ]
        )
    return result


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(self, model: str, options: BackendOptions, llm: Any = None, make_params=None):
        super().__init__(model, options)
        self._tok = self.load_tokenizer(model, options)
        if llm is None:
            vllm = require_engine("vllm")
            llm = vllm.LLM(**llm_kwargs(model, options))
        self.llm = llm
        self._make_params = make_params

    @property
    def tokenizer(self):
        return self._tok

    @property
    def context_limit(self) -> int | None:
        try:
            return int(self.llm.llm_engine.model_config.max_model_len)
        except Exception:  # noqa: BLE001
            return None

    def generate(
        self, prompts: Sequence[Prompt], spec: SamplingSpec, seeds: Sequence[int] | None = None
    ) -> list[list[Completion]]:
        if not prompts:
            return []
        reqs, params = build_requests(prompts, spec, seeds, self._make_params)
        outputs = self.llm.generate(reqs, params, use_tqdm=self.options.progress)
        return parse_outputs(outputs, prompts, spec)

    def info(self) -> dict:
        try:
            import vllm

            version = vllm.__version__
        except Exception:  # noqa: BLE001
            version = "?"
        return {"backend": self.name, "vllm": version, "tp": self.options.tensor_parallel_size}

    def close(self) -> None:
        self.llm = None
        try:
            import gc

            import torch

            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001
            pass
