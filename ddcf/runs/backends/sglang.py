"""SGLang offline-engine backend (the default on a GPU machine).

Install on the GPU box with ``make gpu-env ENGINE=sglang`` (requirements/gpu-sglang.txt); the package is
imported only when this backend is created.

Throughput notes (why the settings are what they are):

* **Prefix cache.**  SGLang's RadixAttention caches KV blocks of shared prompt
  prefixes and is on by default; we never pass ``disable_radix_cache``.  The
  runner orders requests by dataset, then by length, and a whole shard goes to
  the engine in one ``generate`` call, so the 4-/8-shot few-shot prefix
  (identical for every question of a dataset) is computed once and reused.
* **Parallelism.**  ``tp_size`` = ``--tensor_parallel_size`` and ``dp_size`` =
  ``--data_parallel_size`` (SGLang runs the data-parallel replicas itself, so
  this backend is ``native_data_parallel``).  ``mem_fraction_static`` =
  ``--mem_fraction`` when given.
* **n samples.**  Each prompt is repeated ``n`` times with ``n=1`` rather than
  using SGLang's parallel sampling: the output order is then unambiguous and
  the repeats hit the prefix cache anyway.
* **Sampling defaults.**  Recent SGLang versions fill unspecified sampling
  options from the model's generation_config.json; we pass every option
  explicitly (temperature, top_p, top_k, min_p, repetition/frequency/presence
  penalties) so greedy really is greedy.  The engine-level ``random_seed`` is
  ``--seed``; per-request seeds are not passed, so *sampled* (temperature > 0)
  shards are not bit-identical when regenerated (greedy shards are, up to GPU
  numerics).  vLLM and hf do seed per question.
"""

from __future__ import annotations

from typing import Any, Sequence

from ddcf.runs.backends import (
    Backend,
    BackendOptions,
    Completion,
    Prompt,
    SamplingSpec,
    model_context_limit,
    normalise_finish_reason,
    require_engine,
)


def engine_kwargs(model: str, options: BackendOptions) -> dict:
    kw: dict[str, Any] = dict(
        model_path=model,
        tp_size=options.tensor_parallel_size,
        dp_size=options.data_parallel_size,
        random_seed=options.seed,
        trust_remote_code=options.trust_remote_code,
        log_level="error",
    )
    if options.dtype and options.dtype != "auto":
        kw["dtype"] = options.dtype
    if options.mem_fraction is not None:
        kw["mem_fraction_static"] = options.mem_fraction
    if options.context_length is not None:  # the released infer.py runs SGLang with context_length=4096
        kw["context_length"] = options.context_length
    kw.update(options.extra.get("sglang", {}))
    return kw


def sampling_params(spec: SamplingSpec) -> dict:
    sp: dict[str, Any] = dict(
        max_new_tokens=spec.max_new_tokens,
        temperature=0.0 if spec.greedy else spec.temperature,
        top_p=1.0 if spec.greedy else spec.top_p,
        top_k=1 if spec.greedy else (spec.top_k if spec.top_k and spec.top_k > 0 else -1),
        min_p=0.0,
        repetition_penalty=1.0,
        frequency_penalty=0.0,
        presence_penalty=0.0,
        stop=list(spec.stop),
        skip_special_tokens=True,
    )
    if spec.stop_token_ids:
        sp["stop_token_ids"] = list(spec.stop_token_ids)
    return sp


def build_requests(prompts: Sequence[Prompt], spec: SamplingSpec) -> tuple[list[list[int]], dict]:
    """Flatten prompts x n into one input_ids batch (prompt-major: p0s0, p0s1, ..., p1s0, ...)."""
    input_ids = [list(map(int, p)) for p in prompts for _ in range(spec.n)]
    return input_ids, sampling_params(spec)


def parse_outputs(outputs: Any, prompts: Sequence[Prompt], spec: SamplingSpec) -> list[list[Completion]]:
    """Turn SGLang's list of ``{"text", "meta_info"}`` dicts back into n completions per prompt."""
    if isinstance(outputs, dict):
        outputs = [outputs]
    expected = len(prompts) * spec.n
    if len(outputs) != expected:
        raise RuntimeError(f"SGLang returned {len(outputs)} outputs for {expected} requests")
    result: list[list[Completion]] = []
    for i, p in enumerate(prompts):
        row = []
        for s in range(spec.n):
            o = outputs[i * spec.n + s]
            meta = o.get("meta_info", {}) or {}
            row.append(
                Completion(
                    text=o.get("text", "") or "",
                    n_prompt_tokens=int(meta.get("prompt_tokens", len(p))),
                    n_completion_tokens=int(meta.get("completion_tokens", 0)),
                    finish_reason=normalise_finish_reason(meta.get("finish_reason")),
                )
            )
        result.append(row)
    return result


class SGLangBackend(Backend):
    name = "sglang"
    native_data_parallel = True

    def __init__(self, model: str, options: BackendOptions, engine: Any = None):
        super().__init__(model, options)
        self._tok = self.load_tokenizer(model, options)
        if engine is None:
            sgl = require_engine("sglang")
            engine = sgl.Engine(**engine_kwargs(model, options))
        self.engine = engine

    @property
    def tokenizer(self):
        return self._tok

    @property
    def context_limit(self) -> int | None:
        return self.options.context_length or model_context_limit(self.model, self.options.trust_remote_code)

    def generate(
        self, prompts: Sequence[Prompt], spec: SamplingSpec, seeds: Sequence[int] | None = None
    ) -> list[list[Completion]]:
        if not prompts:
            return []
        input_ids, sp = build_requests(prompts, spec)
        outputs = self.engine.generate(input_ids=input_ids, sampling_params=sp)
        return parse_outputs(outputs, prompts, spec)

    def info(self) -> dict:
        try:
            import sglang

            version = sglang.__version__
        except Exception:  # noqa: BLE001
            version = "?"
        return {"backend": self.name, "sglang": version, "tp": self.options.tensor_parallel_size,
                "dp": self.options.data_parallel_size}

    def close(self) -> None:
        eng, self.engine = self.engine, None
        if eng is not None and hasattr(eng, "shutdown"):
            eng.shutdown()
