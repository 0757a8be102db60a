"""Benchmark: request ordering for the transformers (hf) generation backend.

Fast path: what the runner does -- questions ordered by dataset, then length, and
each generate() call batches prompts of similar token length, so little compute
goes into left padding (GSM8K 8-shot prompts are about twice as long as MATH
4-shot ones).  Baseline: the same prompts in random order, batched as they come.

Both run in the same process on the same tiny random Llama (built on the fly; no
download) with real seed questions from data/bundled/, greedy, fixed
max_new_tokens.  Prints the median wall time of each over --repeats runs and the
ratio.  (On a GPU engine the same ordering also makes the few-shot prefix hit
SGLang's radix cache / vLLM's prefix cache; that part needs a GPU to measure.)

    python benchmarks/bench_generate_order.py [--questions 48] [--batch_size 8] [--max_new_tokens 16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_tiny_lm(out: Path, hidden: int) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from ddcf.generate import prompts as P

    texts = [P.fewshot_text(e.problem, [e]) for e in P.GSM8K_EXEMPLARS + P.MATH_EXEMPLARS]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=600, special_tokens=["<pad>", "<s>", "</s>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                       show_progress=False))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.save_pretrained(out)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(fast), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=4096,
                      eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id, bos_token_id=fast.bos_token_id)
    LlamaForCausalLM(cfg).save_pretrained(out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=48, help="seed questions (half GSM8K, half MATH)")
    ap.add_argument("--batch_size", type=int, default=8, help="prompts per generate() call")
    ap.add_argument("--max_new_tokens", type=int, default=16, help="tokens generated per prompt (no EOS stop)")
    ap.add_argument("--max_prompt_tokens", type=int, default=1024, help="prompt truncation limit")
    ap.add_argument("--hidden", type=int, default=128, help="hidden size of the random Llama")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats of each variant (median reported)")
    ap.add_argument("--seed", type=int, default=0, help="shuffle seed of the baseline order")
    args = ap.parse_args(argv)

    import pandas as pd

    from ddcf.bundled.files import SEED_COMPLETIONS
    from ddcf.generate import prompts as P
    from ddcf.generate.questions import order_questions
    from ddcf.runs.backends import BackendOptions, SamplingSpec
    from ddcf.runs.backends.hf import HFBackend

    seed = pd.read_parquet(SEED_COMPLETIONS, columns=["question_id", "question", "gold", "dataset"])
    seed = seed.drop_duplicates("question_id")
    half = args.questions // 2
    qs = pd.concat([seed[seed.dataset == "gsm8k"].sample(half, random_state=1),
                    seed[seed.dataset == "math"].sample(args.questions - half, random_state=1)])
    shuffled = qs.sample(frac=1.0, random_state=args.seed).reset_index(drop=True)
    ordered = order_questions(shuffled)

    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_lm(Path(tmp) / "lm", args.hidden)
        be = HFBackend(str(model), BackendOptions(batch_size=args.batch_size, progress=False))
        # A random model rarely emits EOS, so nearly every row runs to max_new_tokens in both variants.
        spec = SamplingSpec(max_new_tokens=args.max_new_tokens, stop_token_ids=tuple(be.tokenizer.eos_token_ids))

        def ids_of(df):
            return [b.ids for b in P.build_prompts(be.tokenizer, df["question"].tolist(), df["dataset"].tolist(),
                                                   args.max_prompt_tokens)]

        variants = {"baseline (random order, unsorted batches)": (ids_of(shuffled), False),
                    "fast path (dataset+length order, sorted batches)": (ids_of(ordered), True)}
        be.generate(variants["baseline (random order, unsorted batches)"][0][: args.batch_size], spec)  # warm-up
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(args.repeats):
            for name, (ids, sort) in variants.items():
                be.sort_by_length = sort
                t0 = time.perf_counter()
                be.generate(ids, spec)
                times[name].append(time.perf_counter() - t0)
        lengths = [len(x) for x in variants["baseline (random order, unsorted batches)"][0]]
    print(f"{args.questions} prompts ({min(lengths)}-{max(lengths)} tokens), batch {args.batch_size}, "
          f"{args.max_new_tokens} new tokens, {args.repeats} repeats")
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"  {k:<52} median {v:7.2f} s   runs {', '.join(f'{t:.2f}' for t in times[k])}")
    base, fast = med.values()
    print(f"  speed-up (baseline / fast path): {base / fast:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
