"""infer.py's generation mode: options and the entry point.

``infer.py`` (``ddcf/infer_cli.py``) calls :func:`add_generation_args` on its
parser and :func:`run_generation_mode` when no ``--completions`` table is
given.  Defaults are the paper's seed-set settings: greedy decoding, few-shot
prompts truncated to 1024 tokens, up to 2700 new tokens.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ddcf.generate.backends import backend_names
from ddcf.layout import Layout

if TYPE_CHECKING:  # the runner pulls in pandas: import it only when generating (--help stays fast)
    from ddcf.generate.runner import GenerationSettings


def add_generation_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the generation options (stage 1 without --completions) to ``parser``."""
    group = parser.add_argument_group("generation (used when --completions is not given)")

    def add(flag: str, **kw) -> None:
        # The host parser may already define an option (infer.py shares --model_name); keep its definition.
        if flag not in parser._option_string_actions:  # noqa: SLF001 - argparse has no public lookup
            group.add_argument(flag, **kw)

    add("--model_name", default=None,
        help="Model to generate with: a local folder or a Hugging Face Hub id (e.g. Qwen/Qwen2.5-Math-7B).")
    add("--backend", default="auto", choices=["auto", *backend_names()],
        help="Generation engine: sglang (default when a CUDA GPU is visible), vllm, hf (transformers; CPU and "
             "small scale), dummy (fake, for tests).")
    add("--tensor_parallel_size", type=int, default=1, help="GPUs per model replica (tensor parallelism).")
    add("--data_parallel_size", type=int, default=None,
        help="Model replicas (default: visible GPUs // tensor_parallel_size).")
    add("--mem_fraction", type=float, default=None,
        help="GPU memory fraction for weights + KV cache (SGLang mem_fraction_static / vLLM "
             "gpu_memory_utilization; default: the engine's).")
    add("--max_new_tokens", type=int, default=2700, help="Most tokens generated per completion (paper: 2700).")
    add("--max_prompt_tokens", type=int, default=1024,
        help="Longest prompt; longer few-shot prompts drop their oldest exemplars first (paper: 1024).")
    add("--batch_size", type=int, default=None,
        help="hf backend: prompts per generate() call (default 8 on CPU, 32 on GPU); SGLang/vLLM schedule a "
             "whole shard themselves and ignore it.")
    add("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"],
        help="Weight/activation dtype (auto: bf16 on GPU, fp32 on CPU for hf; the engine's choice otherwise).")
    add("--n", type=int, default=1,
        help="Completions per question; with --temperature > 0 this gives pass rates (pass@n).")
    add("--temperature", type=float, default=0.0, help="Sampling temperature; 0 = greedy decoding (default).")
    add("--top_p", type=float, default=1.0, help="Nucleus sampling mass (only with --temperature > 0).")
    add("--top_k", type=int, default=-1, help="Top-k sampling, -1 = off (only with --temperature > 0).")
    add("--seed", type=int, default=0, help="Random seed for sampling (per-question seeds derive from it).")
    add("--chat_template", action="store_true",
        help="Wrap the few-shot prompt in the tokenizer's chat template (for instruct models).")
    add("--shard_size", type=int, default=500,
        help="Questions per checkpoint shard; a killed run resumes after the last finished shard.")
    add("--force_regenerate", action="store_true",
        help="Delete this model's finished shards and verdicts and generate everything again.")
    add("--reverify", action="store_true",
        help="Only re-run verification of the existing completions (no generation, verify cache bypassed).")
    add("--limit", type=int, default=None, help="Use only the first N seed questions (smoke runs).")
    add("--followup_max_tokens", type=int, default=32,
        help="Tokens for the follow-up after 'The final answer is $\\boxed{' when a completion has no boxed "
             "answer.")
    add("--trust_remote_code", action="store_true", help="Allow model repos that ship their own Python code.")
    # infer.py defines these two for its precomputed mode already; the same values then apply here.
    add("--timeout", type=float, default=5.0, help="Seconds allowed to verify one (prediction, gold) pair.")
    add("--workers", type=int, default=None, help="Verification worker processes (default: the verifier's).")
    add("--no_progress", action="store_true", help="Hide progress bars (e.g. in log files).")
    return parser


def settings_from_args(args: argparse.Namespace) -> "GenerationSettings":
    from ddcf.generate.runner import GenerationSettings

    g = lambda name, default=None: getattr(args, name, default)  # noqa: E731 - tolerate host parsers
    return GenerationSettings(
        model=g("model_name"),
        backend=g("backend", "auto"),
        tensor_parallel_size=g("tensor_parallel_size", 1),
        data_parallel_size=g("data_parallel_size"),
        mem_fraction=g("mem_fraction"),
        max_new_tokens=g("max_new_tokens", 2700),
        max_prompt_tokens=g("max_prompt_tokens", 1024),
        batch_size=g("batch_size"),
        dtype=g("dtype", "auto"),
        n=g("n", 1),
        temperature=g("temperature", 0.0),
        top_p=g("top_p", 1.0),
        top_k=g("top_k", -1),
        seed=g("seed", 0),
        chat_template=bool(g("chat_template", False)),
        shard_size=g("shard_size", 500),
        force_regenerate=bool(g("force_regenerate", False)),
        reverify=bool(g("reverify", False)),
        limit=g("limit"),
        followup_max_tokens=g("followup_max_tokens", 32),
        trust_remote_code=bool(g("trust_remote_code", False)),
        verify_timeout=g("timeout", 5.0),
        verify_workers=g("workers"),
        progress=not bool(g("no_progress", False)),
    )


def run_generation_mode(args: argparse.Namespace, layout: Layout) -> int:
    """Run stage 1 (generate + verify) for ``args.model_name``; print a one-screen summary."""
    from ddcf.generate.report import format_summary
    from ddcf.generate.runner import run_generation

    settings = settings_from_args(args)
    result = run_generation(layout, settings)
    if result.status != "done":
        print(result.message)
        return 0
    print(format_summary(result.summary))
    print(f"verdicts: {result.verdicts_path}")
    if settings.n > 1:
        from ddcf.generate.passrate import format_bucket_table, load_pass_rates

        print(format_bucket_table(settings.model, load_pass_rates(layout, settings.model)))
    sys.stdout.flush()
    return 0
