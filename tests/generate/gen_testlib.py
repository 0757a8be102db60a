"""Helpers shared by the generation tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ddcf.runs.backends import Backend


def build_tiny_lm(out: Path, vocab_size: int = 400, max_positions: int = 4096, hidden: int = 32) -> Path:
    """A BPE tokenizer trained on the prompt vocabulary + a 2-layer, 32-wide random Llama."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from ddcf.generate import prompts as P

    texts = [P.fewshot_text(e.problem, [e]) for e in P.GSM8K_EXEMPLARS + P.MATH_EXEMPLARS]
    texts += ["The final answer is $\\boxed{42}$.", "Problem:\nSolution:\n"] * 3
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    # BOS like Llama tokenizers, so left truncation has to keep it.
    from tokenizers.processors import TemplateProcessing

    fast._tokenizer.post_processor = TemplateProcessing(single="<s> $A", special_tokens=[("<s>", fast.bos_token_id)])
    fast.save_pretrained(out)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(fast), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=max_positions,
                      bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                      pad_token_id=fast.pad_token_id)
    LlamaForCausalLM(cfg).save_pretrained(out)
    return out


SEED_ROWS = [
    ("gsm8k_test/0", "Tom has 3 apples and buys 4 more. How many apples does he have?", "7", "gsm8k"),
    ("gsm8k_test/1", "A box holds 12 pens. How many pens are in 2 boxes? Write 24", "24", "gsm8k"),
    ("gsm8k_test/2", "Sara walks 5 km a day for 6 days. How far does she walk? Answer 30", "30", "gsm8k"),
    ("gsm8k_test/3", "What is 9 times 9? It is 81", "81", "gsm8k"),
    ("gsm8k_test/4", "A cake is cut into 8 slices and 3 are eaten. How many are left? 5", "5", "gsm8k"),
    ("math_level5_test/0", "Compute $2^{10}$. The value is 1024", "1024", "math"),
    ("math_level5_test/1", "Find $x$ if $3x = 12$. So x = 4", "4", "math"),
    ("math_level5_test/2", "What is the remainder of 17 divided by 5? It is 2", "3", "math"),
]


def seed_frame(rows=SEED_ROWS) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["question_id", "question", "gold", "dataset"])


def fake_grade(df: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """Stand-in verifier: the last \\boxed{...} compared as a string."""
    out = df.copy()

    def pred(c: str) -> str:
        m = re.findall(r"\\boxed\{([^{}]*)\}", c)
        return m[-1].strip() if m else ""

    out["prediction"] = out["completion"].map(pred)
    out["correct"] = out["prediction"] == out["gold"]
    out["status"] = ["ok" if p else "no_answer" for p in out["prediction"]]
    return out[["model", "question_id", "question", "dataset", "completion", "prediction", "gold", "correct",
                "status"]]


class CountingBackend(Backend):
    """Wraps a backend and counts the prompts it is asked to generate for (follow-ups apart)."""

    def __init__(self, inner: Backend):
        self.inner = inner
        self.name = inner.name
        self.main_prompts = 0
        self.followup_prompts = 0

    @property
    def tokenizer(self):
        return self.inner.tokenizer

    @property
    def context_limit(self):
        return self.inner.context_limit

    def generate(self, prompts, spec, seeds=None):
        # a follow-up request ends with "...$\boxed{" in both prompt styles
        if prompts and self.inner.tokenizer.decode(prompts[0]).rstrip().endswith("\\boxed{"):
            self.followup_prompts += len(prompts)
        else:
            self.main_prompts += len(prompts)
        return self.inner.generate(prompts, spec, seeds)

    def info(self):
        return self.inner.info()

    def close(self):
        self.inner.close()


def settings_for(model, **kw):
    from ddcf.generate.config import GenerateConfig

    base = dict(model_name=str(model), backend="hf", max_new_tokens=6, max_prompt_tokens=200, shard_size=3,
                followup_max_tokens=4, batch_size=4, no_progress=True, workers=1)
    base.update(kw)
    return GenerateConfig(**base)


REPO_ROOT = Path(__file__).resolve().parents[2]
INFER_SCRIPT = REPO_ROOT / "infer.py"
