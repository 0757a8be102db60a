"""transformers ``generate`` backend: CPU and small-scale GPU runs, and what the tests exercise.

No prefix cache here: each batch re-encodes the few-shot prefix, which is fine
for smoke runs and small models but ~10-50x slower than SGLang/vLLM on a GPU.
Prompts are sorted by length inside each call and left-padded, so a batch
wastes little compute on padding.  Sampling options are passed as a fresh
``GenerationConfig``: a model's own generation_config.json (Qwen ships
``repetition_penalty=1.05``, ``do_sample=True``) must not leak into greedy runs.

Progress: a bar over prompts that moves per batch, and inside one ``generate()``
call (which can run for minutes on a CPU) a token meter: a transformers streamer
that counts the tokens written and shows tokens/s beside the bar, a line every
few seconds in a log.  It only reads the tokens, so the completions are the same
with and without it.
"""

from __future__ import annotations

import functools
import time
from typing import Sequence

from ddcf.errors import DDCFError, first_line
from ddcf.runs.backends import (
    Backend,
    BackendOptions,
    Completion,
    HFTokenizer,
    Prompt,
    SamplingSpec,
    check_model_reference,
    cut_at_stop,
)
from ddcf.runtime import is_plain, progress, progress_note, resolve_device

#: seconds between two token-meter lines in a log (on a terminal the bar's postfix is redrawn more often)
TOKEN_LINE_S = 5.0
TOKEN_REDRAW_S = 0.5


class TokenMeter:
    """A ``BaseStreamer`` for ``generate()``: counts the tokens of one batch and reports them on ``bar``.

    ``generate`` calls ``put`` once with the prompts, then once per decoding step with the new token of
    every row (``pad`` for rows that have finished), and ``end`` at the end.  Nothing is changed: the meter
    only counts, so the outputs are the same with or without it.
    """

    def __init__(self, bar, pad: int | None, label: str, max_new_tokens: int, interval: float | None = None):
        self.bar, self.pad, self.label, self.max_new_tokens = bar, pad, label, max_new_tokens
        self.interval = interval if interval is not None else (TOKEN_LINE_S if is_plain(bar) else TOKEN_REDRAW_S)
        self.steps = self.tokens = 0
        self._prompt_seen = False
        self._start = self._last = time.monotonic()

    def put(self, value) -> None:
        if not self._prompt_seen:  # the first call hands over the prompts, not generated tokens
            self._prompt_seen = True
            self._start = self._last = time.monotonic()
            return
        self.steps += 1
        self.tokens += int((value != self.pad).sum()) if self.pad is not None else int(value.numel())
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            progress_note(self.bar, self.text(now))

    def end(self) -> None:
        """Nothing to flush: the caller writes the batch's line."""

    def text(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self._start, 1e-9)
        return (f"{self.label}: {self.tokens:,} tokens, step {self.steps}/{self.max_new_tokens}, "
                f"{self.tokens / elapsed:.1f} tokens/s")

_DTYPES = {"bfloat16": "bfloat16", "bf16": "bfloat16", "float16": "float16", "fp16": "float16", "half": "float16",
           "float32": "float32", "fp32": "float32", "float": "float32"}


def resolve_torch_dtype(name: str, on_cuda: bool):
    import torch

    if name in (None, "", "auto"):
        if on_cuda:
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32  # bf16 matmuls are slow on most CPUs
    if name not in _DTYPES:
        raise DDCFError(f"Unknown --dtype '{name}'.", "use auto, bfloat16, float16 or float32.")
    return getattr(torch, _DTYPES[name])


@functools.cache
def _meter_class() -> type:
    """:class:`TokenMeter` as a transformers ``BaseStreamer`` (built on first use: transformers is imported
    lazily, only by this backend)."""
    from transformers.generation.streamers import BaseStreamer

    return type("HFTokenMeter", (TokenMeter, BaseStreamer), {})


class HFBackend(Backend):
    name = "hf"

    def __init__(self, model: str, options: BackendOptions):
        super().__init__(model, options)
        from transformers import AutoModelForCausalLM

        check_model_reference(model)
        self._tok = HFTokenizer.load(model, options.trust_remote_code)
        self.device = resolve_device("auto")
        dtype = resolve_torch_dtype(options.dtype, self.device == "cuda")
        kwargs = {"dtype": dtype, "trust_remote_code": options.trust_remote_code}
        if self.device == "cuda" and options.tensor_parallel_size > 1:
            kwargs["device_map"] = "auto"  # layer-wise split over the visible GPUs
        try:
            self.lm = AutoModelForCausalLM.from_pretrained(model, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise DDCFError(
                f"Could not load the model '{model}' with transformers: {type(exc).__name__}: {first_line(exc)}.",
                "check --model_name; a Hub id needs network access or a cached copy.",
            ) from None
        if "device_map" not in kwargs:
            self.lm.to(self.device)
        self.lm.eval()
        self.batch_size = options.batch_size or (8 if self.device == "cpu" else 32)
        self.n_generate_calls = 0
        self.sort_by_length = True  # False only to measure the unsorted baseline (benchmarks/)

    @property
    def tokenizer(self):
        return self._tok

    @property
    def context_limit(self) -> int | None:
        own = getattr(self.lm.config, "max_position_embeddings", None)
        limit = self.options.context_length
        return min(own, limit) if own and limit else (limit or own)

    def _generation_config(self, spec: SamplingSpec):
        from transformers import GenerationConfig

        eos = list(spec.stop_token_ids) or list(self._tok.eos_token_ids)
        kw = dict(
            max_new_tokens=spec.max_new_tokens,
            num_return_sequences=spec.n,
            eos_token_id=eos or None,
            pad_token_id=self._tok.pad_token_id,
            stop_strings=list(spec.stop) or None,
        )
        if spec.greedy:
            kw.update(do_sample=False)
        else:
            kw.update(do_sample=True, temperature=spec.temperature, top_p=spec.top_p,
                      top_k=spec.top_k if spec.top_k and spec.top_k > 0 else None)
        return GenerationConfig(**kw), set(eos)

    def generate(
        self, prompts: Sequence[Prompt], spec: SamplingSpec, seeds: Sequence[int] | None = None
    ) -> list[list[Completion]]:
        import torch

        gen_config, eos = self._generation_config(spec)
        pad = self._tok.pad_token_id
        results: list[list[Completion] | None] = [None] * len(prompts)
        order = list(range(len(prompts)))
        if self.sort_by_length:
            order.sort(key=lambda i: len(prompts[i]))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        bar = progress(total=len(prompts), desc="hf generate", unit="prompt", enabled=self.options.progress,
                   leave=False)
        for b, batch in enumerate(batches, 1):
            meter = (self._meter(bar, f"batch {b}/{len(batches)} ({len(batch)} prompts)", spec.max_new_tokens)
                     if self.options.progress else None)
            if not spec.greedy:
                # One seed per batch keeps a rerun of the same shard reproducible.
                base = seeds[batch[0]] if seeds is not None else (spec.seed or 0)
                torch.manual_seed(int(base) & 0x7FFFFFFF)
            width = max(len(prompts[i]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, i in enumerate(batch):
                p = list(prompts[i])
                ids[r, width - len(p):] = torch.tensor(p, dtype=torch.long)
                mask[r, width - len(p):] = 1
            with torch.no_grad():
                out = self.lm.generate(
                    input_ids=ids.to(self.lm.device),
                    attention_mask=mask.to(self.lm.device),
                    generation_config=gen_config,
                    tokenizer=self._tok.tok if spec.stop else None,
                    **({"streamer": meter} if meter is not None else {}),
                )
            self.n_generate_calls += 1
            new = out[:, width:].tolist()
            for r, i in enumerate(batch):
                results[i] = [
                    self._parse(new[r * spec.n + s], len(prompts[i]), spec, eos, pad) for s in range(spec.n)
                ]
            if meter is not None:
                bar.set_postfix_str(meter.text(), refresh=False)  # the batch's tokens/s on its line
            bar.update(len(batch))
        bar.close()
        return results  # type: ignore[return-value]

    def _meter(self, bar, label: str, max_new_tokens: int) -> TokenMeter:
        return _meter_class()(bar, self._tok.pad_token_id, label, max_new_tokens)

    def _parse(self, new_ids: list[int], n_prompt: int, spec: SamplingSpec, eos: set[int], pad: int) -> Completion:
        """Trim padding/EOS and stop strings from one generated row."""
        n = len(new_ids)
        ended_by_eos = False
        for j, t in enumerate(new_ids):
            if t in eos:
                n, ended_by_eos = j, True
                break
            if t == pad:  # rows finished by a stop string are padded after it
                n = j
                break
        text = self._tok.decode(new_ids[:n])
        text, hit = cut_at_stop(text, spec.stop)
        if ended_by_eos or hit or n < spec.max_new_tokens:
            finish = "stop"
        else:
            finish = "length"
        return Completion(text=text, n_prompt_tokens=n_prompt, n_completion_tokens=n + int(ended_by_eos),
                          finish_reason=finish)

    def info(self) -> dict:
        import transformers

        return {"backend": self.name, "transformers": transformers.__version__, "device": self.device,
                "dtype": str(self.lm.dtype), "batch_size": self.batch_size}

    def close(self) -> None:
        self.lm = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001
            pass
