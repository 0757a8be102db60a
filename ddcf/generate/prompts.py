r"""Few-shot prompts for the seed questions, and their left truncation.

Format (base models, the reference method's style)::

    Problem:
    <exemplar problem>

    Solution:
    <worked solution ending "The final answer is $\boxed{X}$.">

    ... (8 exemplars for GSM8K, 4 for MATH) ...

    Problem:
    <seed question>

    Solution:

The model continues after "Solution:"; generation stops at the next
"Problem:" (the model starting a new exemplar of its own) or at EOS.

The exemplar problems are real rows of the bundled *training* data
(``data/bundled/corpus.parquet``: gsm8k_train/..., math_train/...), never seed
(test) questions; the worked solutions were written for this project.  Seed
datasets named ``gsm8k*`` get the GSM8K prompt; everything else (MATH and any
unknown dataset) gets the MATH prompt.

Truncation keeps the question: when a prompt is longer than
``max_prompt_tokens``, whole exemplars are dropped oldest-first until it fits;
only if the question alone is still too long are tokens cut from the left
(keeping a leading BOS token).  Each prompt records how many exemplars it kept
(``n_shots``) and whether it had to cut the question (``truncated``).

That is the ``ddcf`` prompt style.  The default, ``reference`` style
(:func:`build_reference_prompts`), renders prompts as the released DDCF
``infer.py``/``prepare.py`` do: the exemplar block, then ``"\n\nProblem:\n" +
question + "\n\nSolution:"`` (the question verbatim, no newline after
"Solution:"); the exemplar set is chosen by the seed table's ``type`` column
when it has one (``type == "math"`` -> MATH, anything else -> GSM8K) and by the
dataset name otherwise; a prompt of 1,024 or more tokens (counted without
special tokens) is replaced by the decoded text of its last 1,024 tokens, and
the engine encodes the text again (with the tokenizer's special tokens, as
SGLang does for a text prompt).  ``truncated`` then means that cut happened.

With ``chat=True`` (instruct models, ``ddcf`` style only) the same exemplars become alternating
user/assistant turns rendered by the tokenizer's chat template, and the
assistant turn is opened with "Solution:\n".

Multiple-choice questions (a dataset whose answer type is ``choice``, see
:func:`ddcf.verify.answer_types.dataset_default`, or ``answer_types`` given to
:func:`build_prompts`) get a zero-shot prompt instead: the question (with its
options) and :data:`CHOICE_INSTRUCTION`, so the answer is the letter the
``choice`` chain reads.  The math prompts above are unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Sequence

from ddcf.errors import DDCFError
from ddcf.verify.answer_types import dataset_default

PROMPT_FORMAT_VERSION = 1
PROBLEM_HEADER = "Problem:\n"
SOLUTION_HEADER = "Solution:\n"
EXEMPLAR_SEPARATOR = "\n\n"
STOP_STRINGS = ("Problem:",)
FOLLOWUP_SUFFIX = "The final answer is $\\boxed{"
FOLLOWUP_STOP = ("}$",)
CHOICE = "choice"
#: reference style (released infer.py): stop strings before the tokenizer's own eos_token string, the follow-up
#: suffix appended to the raw completion (leading space, no newline) and the prompt's last line (no newline).
REFERENCE_STOP_STRINGS = ("<|im_end|>", "<\uff5cend\u2581of\u2581sentence\uff5c>", "Problem:")
REFERENCE_FOLLOWUP_SUFFIX = " The final answer is $\\boxed{"
REFERENCE_QUESTION_HEADER = "\n\nProblem:\n"
REFERENCE_SOLUTION_HEADER = "\n\nSolution:"
CHOICE_INSTRUCTION = ("Answer with the letter of the correct option. Think briefly, then end with "
                      "\"The answer is (X)\" where X is that letter.")


@dataclass(frozen=True)
class Exemplar:
    source_id: str  # question_id in data/bundled/corpus.parquet
    problem: str
    solution: str
    answer: str


GSM8K_EXEMPLARS: tuple[Exemplar, ...] = (
    Exemplar(
        "gsm8k_train/656",
        "Zig wrote four times as many books as Flo. If Zig wrote 60 books, how many books did they write altogether?",
        "Flo wrote a quarter of what Zig wrote: 60 / 4 = 15 books.\n"
        "Together they wrote 60 + 15 = 75 books.\n"
        "The final answer is $\\boxed{75}$.",
        "75",
    ),
    Exemplar(
        "gsm8k_train/983",
        "Carter is twice as tall as his 24” tall dog.  Betty is 12” shorter than Carter.  How tall is Betty in feet?",
        "Carter is 2 * 24 = 48 inches tall.\n"
        "Betty is 48 - 12 = 36 inches tall.\n"
        "A foot has 12 inches, so Betty is 36 / 12 = 3 feet tall.\n"
        "The final answer is $\\boxed{3}$.",
        "3",
    ),
    Exemplar(
        "gsm8k_train/6909",
        "If 8 carpenters can make 50 chairs in 10 days, how many carpenters are needed to make 75 chairs in 10 days?",
        "In 10 days one carpenter makes 50 / 8 = 6.25 chairs.\n"
        "For 75 chairs in the same 10 days we need 75 / 6.25 = 12 carpenters.\n"
        "The final answer is $\\boxed{12}$.",
        "12",
    ),
    Exemplar(
        "gsm8k_train/3780",
        "Janet counts 30 crows on the powerlines and 60% more hawks than crows. How many birds does she count total?",
        "60% of 30 crows is 0.6 * 30 = 18, so there are 30 + 18 = 48 hawks.\n"
        "Altogether she counts 30 + 48 = 78 birds.\n"
        "The final answer is $\\boxed{78}$.",
        "78",
    ),
    Exemplar(
        "gsm8k_train/6634",
        "If 60% of the students at school are girls and the number of boys is 300, how many girls are at the school?",
        "Boys are 100% - 60% = 40% of the students, so 40% of the school is 300 students.\n"
        "The whole school has 300 / 0.4 = 750 students.\n"
        "The girls number 750 - 300 = 450.\n"
        "The final answer is $\\boxed{450}$.",
        "450",
    ),
    Exemplar(
        "gsm8k_train/4462",
        "John buys 20 bars of soap each weighing 1.5 pounds for $.5 per pound.  How much money did he spend on soap?",
        "The soap weighs 20 * 1.5 = 30 pounds in total.\n"
        "At $0.50 a pound it costs 30 * 0.5 = $15.\n"
        "The final answer is $\\boxed{15}$.",
        "15",
    ),
    Exemplar(
        "gsm8k_train/2650",
        "Jack has $45 and 36 euros. If each euro is worth two dollars, how much money does he have total in dollars?",
        "His euros are worth 36 * 2 = 72 dollars.\n"
        "Adding his $45 gives 45 + 72 = 117 dollars.\n"
        "The final answer is $\\boxed{117}$.",
        "117",
    ),
    Exemplar(
        "gsm8k_train/4688",
        "Emily bought a shirt and a coat for $600. What does the shirt cost if it is one-third the price of the coat?",
        "Let the coat cost c dollars; the shirt costs c / 3.\n"
        "Then c + c / 3 = 600, so 4c / 3 = 600 and c = 450.\n"
        "The shirt costs 450 / 3 = $150.\n"
        "The final answer is $\\boxed{150}$.",
        "150",
    ),
)

MATH_EXEMPLARS: tuple[Exemplar, ...] = (
    Exemplar(
        "math_train/686",
        "A geometric sequence starts $16$, $-24$, $36$, $-54$. What is the common ratio of this sequence?",
        "The common ratio is any term divided by the term before it: $\\frac{-24}{16} = -\\frac{3}{2}$.\n"
        "Check with the next pair: $-24 \\cdot \\left(-\\frac{3}{2}\\right) = 36$, as given.\n"
        "The final answer is $\\boxed{-\\frac{3}{2}}$.",
        "-\\frac{3}{2}",
    ),
    Exemplar(
        "math_train/2319",
        "In how many ways can George choose two out of seven colors to paint his room?",
        "The order of the two colors does not matter, so we count unordered pairs from 7 colors:\n"
        "$\\binom{7}{2} = \\frac{7 \\cdot 6}{2} = 21$.\n"
        "The final answer is $\\boxed{21}$.",
        "21",
    ),
    Exemplar(
        "math_train/5206",
        "Convert $3206_7$ to a base 10 integer.",
        "Each digit multiplies a power of 7:\n"
        "$3 \\cdot 7^3 + 2 \\cdot 7^2 + 0 \\cdot 7 + 6 = 3 \\cdot 343 + 2 \\cdot 49 + 6 = 1029 + 98 + 6 = 1133$.\n"
        "The final answer is $\\boxed{1133}$.",
        "1133",
    ),
    Exemplar(
        "math_train/1455",
        "Solve  \\[\\frac{x^2+2x+3}{x+4}=x+5\\]for $x$.",
        "Multiply both sides by $x+4$ (we need $x \\neq -4$): $x^2+2x+3 = (x+5)(x+4) = x^2+9x+20$.\n"
        "Subtracting $x^2$ leaves $2x+3 = 9x+20$, so $-7x = 17$ and $x = -\\frac{17}{7}$, which is not $-4$.\n"
        "The final answer is $\\boxed{-\\frac{17}{7}}$.",
        "-\\frac{17}{7}",
    ),
)


def exemplars_for(dataset: str) -> tuple[Exemplar, ...]:
    """8-shot GSM8K for gsm8k* datasets, 4-shot MATH for everything else."""
    return GSM8K_EXEMPLARS if str(dataset).lower().startswith("gsm8k") else MATH_EXEMPLARS


def prompt_kind(dataset: str, answer_type: str | None = None) -> str:
    """'choice' (zero-shot letter prompt), 'gsm8k' or 'math' (few-shot)."""
    if (answer_type or dataset_default(dataset)) == CHOICE:
        return CHOICE
    return "gsm8k" if exemplars_for(dataset) is GSM8K_EXEMPLARS else "math"


def choice_text(question: str) -> str:
    return f"{PROBLEM_HEADER}{question.strip()}\n\n{CHOICE_INSTRUCTION}"


def _block(problem: str, solution: str | None) -> str:
    head = f"{PROBLEM_HEADER}{problem.strip()}\n\n{SOLUTION_HEADER}"
    return head if solution is None else head + solution


def fewshot_text(question: str, exemplars: Sequence[Exemplar]) -> str:
    parts = [_block(e.problem, e.solution) for e in exemplars]
    parts.append(_block(question, None))
    return EXEMPLAR_SEPARATOR.join(parts)


def chat_messages(question: str, exemplars: Sequence[Exemplar]) -> list[dict]:
    msgs: list[dict] = []
    for e in exemplars:
        msgs.append({"role": "user", "content": PROBLEM_HEADER + e.problem.strip()})
        msgs.append({"role": "assistant", "content": SOLUTION_HEADER + e.solution})
    msgs.append({"role": "user", "content": PROBLEM_HEADER + question.strip()})
    return msgs


def prompt_text(question: str, dataset: str, n_shots: int, tokenizer=None, chat: bool = False,
                answer_type: str | None = None) -> str:
    """The prompt for ``question`` with its dataset's last ``n_shots`` exemplars dropped from the front."""
    if prompt_kind(dataset, answer_type) == CHOICE:
        if not chat:
            return f"{choice_text(question)}\n\n{SOLUTION_HEADER}"
        return tokenizer.apply_chat_template([{"role": "user", "content": choice_text(question)}]) + SOLUTION_HEADER
    ex = exemplars_for(dataset)
    ex = ex[len(ex) - n_shots :] if n_shots < len(ex) else ex
    if not chat:
        return fewshot_text(question, ex)
    return tokenizer.apply_chat_template(chat_messages(question, ex)) + SOLUTION_HEADER


def prompts_fingerprint(chat: bool, with_choice: bool = False, style: str = "ddcf") -> str:
    """Hash of everything that defines the prompts (recorded in run_config.json).

    The multiple-choice instruction counts only for runs that have choice questions, so runs of math seed sets
    keep the hash they had before answer types existed and still resume.  The ``ddcf`` style's payload is the one
    every run had before prompt styles existed (same hash: those runs resume with ``--prompt_style ddcf``); the
    ``reference`` style hashes its own template, stops, follow-up and truncation rule, so the two never mix.
    """
    payload = {
        "version": PROMPT_FORMAT_VERSION,
        "chat": bool(chat),
        "headers": [PROBLEM_HEADER, SOLUTION_HEADER, EXEMPLAR_SEPARATOR],
        "stop": list(STOP_STRINGS),
        "followup": [FOLLOWUP_SUFFIX, list(FOLLOWUP_STOP)],
        "gsm8k": [[e.source_id, e.problem, e.solution] for e in GSM8K_EXEMPLARS],
        "math": [[e.source_id, e.problem, e.solution] for e in MATH_EXEMPLARS],
    }
    if style != "ddcf":
        payload.update({
            "style": style,
            "headers": [PROBLEM_HEADER, SOLUTION_HEADER, EXEMPLAR_SEPARATOR, REFERENCE_QUESTION_HEADER,
                        REFERENCE_SOLUTION_HEADER],
            "stop": [*REFERENCE_STOP_STRINGS, "<eos_token>"],
            "followup": [REFERENCE_FOLLOWUP_SUFFIX, "main stops"],
            "exemplar_choice": "type == 'math' -> math, other type -> gsm8k; no type: dataset gsm8k* -> gsm8k",
            "truncation": "last max_prompt_tokens tokens (no special tokens) decoded, re-encoded with them",
        })
    if with_choice:
        payload["choice"] = CHOICE_INSTRUCTION
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class BuiltPrompt:
    ids: list[int]
    n_shots: int
    truncated: bool  # ddcf style: the question itself had to be cut; reference style: cut to its last tokens
    text: str | None = None  # reference style: the text the engine encodes (the follow-up extends this text)


def left_truncate(ids: list[int], limit: int, bos: int | None) -> list[int]:
    if len(ids) <= limit:
        return ids
    if bos is not None and ids and ids[0] == bos and limit > 1:
        return [bos] + ids[len(ids) - (limit - 1) :]
    return ids[len(ids) - limit :]


def build_prompts(
    tokenizer, questions: Sequence[str], datasets: Sequence[str], max_prompt_tokens: int, chat: bool = False,
    answer_types: Sequence[str | None] | None = None,
) -> list[BuiltPrompt]:
    """Token-id prompts, each at most ``max_prompt_tokens`` long (see the module docstring).

    ``answer_types`` (one per question, None = the dataset's default) picks the choice prompt per row."""
    if chat and not tokenizer.has_chat_template:
        raise DDCFError(
            "--chat_template was given but the model's tokenizer has no chat template.",
            "drop --chat_template for base models (the plain few-shot prompt is used then).",
        )
    add_special = not chat  # a chat template writes its own BOS
    types = list(answer_types) if answer_types is not None else [None] * len(questions)
    full = [0 if prompt_kind(d, t) == CHOICE else len(exemplars_for(d)) for d, t in zip(datasets, types)]
    texts = [prompt_text(q, d, k, tokenizer, chat, t) for q, d, k, t in zip(questions, datasets, full, types)]
    encoded = tokenizer.encode(texts, add_special_tokens=add_special)
    bos = getattr(tokenizer, "bos_token_id", None)
    out: list[BuiltPrompt] = []
    for q, d, k, t, ids in zip(questions, datasets, full, types, encoded):
        # Rare path: drop exemplars oldest-first until the prompt fits.
        while len(ids) > max_prompt_tokens and k > 0:
            k -= 1
            ids = tokenizer.encode([prompt_text(q, d, k, tokenizer, chat, t)], add_special_tokens=add_special)[0]
        truncated = len(ids) > max_prompt_tokens
        out.append(BuiltPrompt(left_truncate(list(ids), max_prompt_tokens, bos), k, truncated))
    return out


# --------------------------------------------------------------------------- reference style (released infer.py)
def reference_kind(dataset: str, type_: str | None = None, answer_type: str | None = None) -> str:
    """'choice', 'gsm8k' or 'math': the seed table's ``type`` decides when given (exactly ``"math"`` -> MATH,
    any other value -> GSM8K, the released rule), else the dataset name (as in the ddcf style)."""
    if (answer_type or dataset_default(dataset)) == CHOICE:
        return CHOICE
    if type_ is not None:
        return "math" if type_ == "math" else "gsm8k"
    return "gsm8k" if exemplars_for(dataset) is GSM8K_EXEMPLARS else "math"


def exemplar_block(exemplars: Sequence[Exemplar]) -> str:
    """The few-shot text that precedes the question ("Problem:\n...\n\nSolution:\n..." blocks)."""
    return EXEMPLAR_SEPARATOR.join(_block(e.problem, e.solution) for e in exemplars)


def reference_prompt_text(question: str, kind: str) -> str:
    """The released template: exemplar block, "\n\nProblem:\n", the question verbatim, "\n\nSolution:"."""
    if kind == CHOICE:  # not in the released code (no choice seed sets there): our zero-shot prompt
        return f"{choice_text(question)}\n\n{SOLUTION_HEADER}"
    ex = GSM8K_EXEMPLARS if kind == "gsm8k" else MATH_EXEMPLARS
    return f"{exemplar_block(ex)}{REFERENCE_QUESTION_HEADER}{question}{REFERENCE_SOLUTION_HEADER}"


def reference_truncate(tokenizer, texts: Sequence[str], limit: int) -> list[tuple[str, bool]]:
    """Released ``truncate_prompts``: a text of ``limit`` or more tokens (no special tokens) becomes the decoded
    text of its last ``limit`` tokens (special tokens kept in the decode, the tokenizer's default)."""
    out = []
    for text, ids in zip(texts, tokenizer.encode(list(texts), add_special_tokens=False)):
        out.append((tokenizer.decode_raw(ids[-limit:]), True) if len(ids) >= limit else (text, False))
    return out


def build_reference_prompts(
    tokenizer, questions: Sequence[str], datasets: Sequence[str], max_prompt_tokens: int,
    types: Sequence[str | None] | None = None, answer_types: Sequence[str | None] | None = None,
) -> list[BuiltPrompt]:
    """Reference-style prompts (module docstring): text, truncation, then the ids the engine would encode."""
    types = list(types) if types is not None else [None] * len(questions)
    a_types = list(answer_types) if answer_types is not None else [None] * len(questions)
    kinds = [reference_kind(d, t, a) for d, t, a in zip(datasets, types, a_types)]
    texts = [reference_prompt_text(q, k) for q, k in zip(questions, kinds)]
    cut = reference_truncate(tokenizer, texts, max_prompt_tokens)
    # what SGLang/vLLM do with a text prompt: encode it with the tokenizer's special tokens (e.g. a BOS)
    ids = tokenizer.encode([t for t, _ in cut], add_special_tokens=True)
    shots = {"gsm8k": len(GSM8K_EXEMPLARS), "math": len(MATH_EXEMPLARS), CHOICE: 0}
    return [BuiltPrompt(list(i), shots[k], trunc, text) for i, k, (text, trunc) in zip(ids, kinds, cut)]
