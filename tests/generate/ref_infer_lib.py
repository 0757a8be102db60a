"""Fixed inputs of the stage-1 reference comparison (tests/generate/test_generate_reference_infer.py).

The same module built the expected values: a driver outside the project imported it to make the tokenizers and
the seed table, and to answer the released ``infer.py``'s engine calls (see the test's docstring).  Keep the
contents fixed: changing a tokenizer, a question or a canned answer invalidates
``tests/generate/data/reference_infer.json``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

#: two tiny tokenizers: Qwen-like (no BOS, EOS text "<|endoftext|>", "<|im_end|>" special) and Llama-like (a BOS
#: added to every encoding, EOS "</s>"), so the truncation's decode / re-encode is checked with and without a BOS
TOKENIZERS = {
    "qwenlike": dict(bos=None, eos="<|endoftext|>", specials=["<|endoftext|>", "<|im_end|>", "<|im_start|>"]),
    "llamalike": dict(bos="<s>", eos="</s>", specials=["<pad>", "<s>", "</s>"]),
}

#: question_id, question, gold, dataset, type.  [qN] tags let the fake engine recognise a prompt; a type other than
#: exactly "math" (e.g. a MATH subject) means GSM8K exemplars to the released rule; q3 is long (its prompt is cut),
#: q4 ends with blanks (the released template does not strip the question)
SEED = [
    ("s/0", "Tom has 3 apples and buys 4 more. How many apples does he have? [q0]", "7", "gsm8k", "gsm8k"),
    ("s/1", "Compute $2^{10}$. [q1]", "1024", "math", "math"),
    ("s/2", "Find $x$ if $3x = 12$. [q2]", "4", "math", "Algebra"),
    ("s/3", "A train leaves at 9 am. " * 40 + "When does it arrive? [q3]", "11", "math", "math"),
    ("s/4", "What is 9 times 9? [q4]  \n", "81", "gsm8k", "gsm8k"),
    ("s/5", "Caf\u00e9 prices: 3 \u20ac each, 5 items. Total in \u20ac? [q5]", "15", "gsm8k", "gsm8k"),
]

#: the fake engine's first answer per tag: with a box, with an unclosed box (no follow-up: "\\boxed{" is there),
#: without a box (follow-up), without a box after trailing blanks
MAIN = {
    "q0": "He has 3 + 4 = 7 apples. The answer is $\\boxed{7}$.",
    "q1": "$2^{10} = 1024$, so the answer is \\boxed{1024",
    "q2": "Divide by 3: x = 4.",
    "q3": "It arrives at 11 am.\n",
    "q4": "9 * 9 = 81.  ",
    "q5": "5 * 3 = 15 euros",
}
#: the follow-up's answer per tag (what the engine "continues" after "The final answer is $\\boxed{")
FOLLOWUP = {"q2": "4}$.", "q3": "11}$.\nFinal Answer: done", "q4": "81}$", "q5": "15}$."}

_TAG = re.compile(r"\[(q\d+)\]")


def last_tag(text: str) -> str:
    return _TAG.findall(text)[-1]


def fake_answer(prompt_text: str) -> str:
    """What the fake engine answers: a follow-up when the prompt ends with the boxed suffix."""
    tag = last_tag(prompt_text)
    return FOLLOWUP[tag] if prompt_text.endswith("$\\boxed{") else MAIN[tag]


def build_tokenizer(out: Path, kind: str) -> Path:
    """A byte-level BPE (about 330 tokens) trained on the project's exemplars and the seed questions."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from ddcf.generate import prompts as P

    spec = TOKENIZERS[kind]
    texts = [P.exemplar_block(P.GSM8K_EXEMPLARS), P.exemplar_block(P.MATH_EXEMPLARS)] + [r[1] for r in SEED]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=330, special_tokens=spec["specials"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    kw = dict(eos_token=spec["eos"])
    if spec["bos"]:
        kw.update(bos_token=spec["bos"], pad_token="<pad>")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **kw)
    if spec["bos"]:
        from tokenizers.processors import TemplateProcessing

        fast._tokenizer.post_processor = TemplateProcessing(
            single=f"{spec['bos']} $A", special_tokens=[(spec["bos"], fast.bos_token_id)])
    fast.save_pretrained(out)
    return out


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
