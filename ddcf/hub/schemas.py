"""The published repos' column names, and the one mapping from them to the project's tables.

What the paper's authors published (as their own scripts read it):

* seed questions (``iNLP-Lab/DDCF-seed-math``, a ``datasets`` repo): ``prompt_id`` (int), ``prompt``,
  ``gold``, ``type`` (the MATH subject, or GSM8K);
* the full corpus (``iNLP-Lab/DDCF-fullcorpus-math``, one file ``fullcorpus_math.csv``): ``prompt_id``,
  ``prompt``, ``response`` (DeepSeek-R1's chain of thought), ``gold``, ``subject``, ``len``;
* binary correctness (``iNLP-Lab/DDCF-binary-correctness-math``, a ``datasets`` repo): one row per
  (model, question): ``model`` (``/`` written as ``__``), ``prompt_id``, ``prompt``, ``completion``, ``gold``,
  ``prediction``, ``check`` (bool), ``len``.

Ours (``ddcf/layout.py``): seed ``question_id, question, gold, dataset`` (+ ``subject``), corpus
``question_id, question, response, answer, dataset`` (+ ``subject, len``), verdicts
``ddcf.verify.grade.VERDICT_COLUMNS``.  Question ids are strings made from ``prompt_id`` with a prefix per
table (``seed/12``, ``corpus/12``): the seed and corpus numberings are independent, and the prefix keeps a
seed question from ever being joined with a corpus one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ddcf.errors import DDCFError

if TYPE_CHECKING:  # the option classes import the repo names below: --help must not import pandas
    import pandas as pd

# ---------------------------------------------------------------------------- the published repos
SEED_REPO = "iNLP-Lab/DDCF-seed-math"
FULLCORPUS_REPO = "iNLP-Lab/DDCF-fullcorpus-math"
CORRECTNESS_REPO = "iNLP-Lab/DDCF-binary-correctness-math"
FULLCORPUS_FILE = "fullcorpus_math.csv"

PUBLISHED_SEED_COLUMNS = ["prompt_id", "prompt", "gold", "type"]
PUBLISHED_CORPUS_COLUMNS = ["prompt_id", "prompt", "response", "gold", "subject", "len"]
PUBLISHED_CORRECTNESS_COLUMNS = ["model", "prompt_id", "prompt", "completion", "gold", "prediction", "check", "len"]

#: rows the published repos hold (the issue, the paper); a different count is reported, not fatal, since a
#: later revision of a repo may fix rows
EXPECTED_ROWS = {SEED_REPO: 19_470, FULLCORPUS_REPO: 189_257}

#: the corpus's dataset label (it is one corpus, the cleaned OpenR1-Math; the subject stays in its own column)
CORPUS_DATASET = "openr1_math"

SEED_PREFIX, CORPUS_PREFIX = "seed/", "corpus/"


# ---------------------------------------------------------------------------- ids and names
def seed_question_id(prompt_ids) -> pd.Series:
    """``seed/<id>`` for ids already made exact by :func:`exact_prompt_ids` (an int64 Series)."""
    import pandas as pd

    ids = pd.Series(prompt_ids)
    if not pd.api.types.is_integer_dtype(ids):
        raise TypeError("seed_question_id takes integer ids (see exact_prompt_ids)")
    return SEED_PREFIX + ids.astype("int64").astype(str)


#: the largest integer magnitude a float64 holds exactly: an id written as a float past it may already be rounded
_EXACT_FLOAT_INT = 2 ** 53
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def exact_prompt_ids(values, where: str, fix: str) -> pd.Series:
    """Published ``prompt_id`` values -> int64, exactly, or a DDCFError naming the rows that cannot be.

    Integers (and integer text) within int64 are kept; a float is accepted only when it is a whole number of
    at most 2**53 in magnitude, since past that two different ids may already share one float (1e30 and
    1e30 + 1e14 do) and converting would silently merge two questions.
    """
    import numpy as np
    import pandas as pd

    s = pd.Series(values)
    if pd.api.types.is_bool_dtype(s):
        bad = pd.Series(True, index=s.index)
    elif pd.api.types.is_integer_dtype(s):
        if s.dtype == np.uint64:
            bad = pd.Series(s.to_numpy() > np.uint64(_INT64[1]), index=s.index)
        else:
            return s.astype("int64")
    else:
        parsed = [_exact_int(v) for v in s.tolist()]
        bad = pd.Series([p is None for p in parsed], index=s.index)
        if not bad.any():
            return pd.Series(parsed, index=s.index, dtype="int64")
    sample = ", ".join(repr(v) for v in s[bad].tolist()[:3])
    raise DDCFError(f"{int(bad.sum()):,} row(s) of {where} have a missing or non-integer prompt_id, or one that "
                    f"is not exactly an integer of at most 2**63 - 1 (floats only up to 2**53) (e.g. {sample}): "
                    "converting them could merge different questions.", fix)


def _exact_int(v) -> int | None:
    import math

    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iu"):
        n = int(v)
    elif isinstance(v, float) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") == "f"):
        f = float(v)
        if not math.isfinite(f) or f != int(f) or abs(f) > _EXACT_FLOAT_INT:
            return None
        n = int(f)
    elif isinstance(v, str) and v.strip().lstrip("+-").isdigit() and v.strip().isascii():
        n = int(v.strip())
    else:
        return None
    return n if _INT64[0] <= n <= _INT64[1] else None


def model_from_hub(name: str) -> str:
    """``Qwen__Qwen2.5-7B`` -> ``Qwen/Qwen2.5-7B`` (the published tables write ``/`` as ``__``)."""
    return str(name).strip().replace("__", "/")


def model_to_hub(name: str) -> str:
    return str(name).strip().replace("/", "__")


def seed_dataset(types: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``type`` -> (dataset, subject): GSM8K questions are 'gsm8k' with no subject, the rest 'math' + subject.

    The dataset decides how answers are graded (GSM8K numbers vs MATH expressions), so it must be right.
    """
    import numpy as np
    import pandas as pd

    t = types.astype("string").str.strip()
    is_gsm = t.str.lower().str.replace(r"[^a-z0-9]", "", regex=True).eq("gsm8k").fillna(False)
    dataset = pd.Series(np.where(is_gsm, "gsm8k", "math"), index=types.index)
    subject = t.where(~is_gsm, "").fillna("").astype(str)
    return dataset, subject


# ---------------------------------------------------------------------------- tables
def seed_from_published(pub: pd.DataFrame) -> pd.DataFrame:
    """The published seed table -> ``question_id, question, gold, dataset, subject, prompt_id``."""
    import pandas as pd

    dataset, subject = seed_dataset(pub["type"])
    return pd.DataFrame({
        "question_id": seed_question_id(pub["prompt_id"]).to_numpy(),
        "question": pub["prompt"].astype("string").to_numpy(),
        "gold": pub["gold"].astype("string").fillna("").astype(str).to_numpy(),
        "dataset": dataset.to_numpy(),
        "subject": subject.to_numpy(),
        "prompt_id": pub["prompt_id"].astype("int64").to_numpy(),
    })


CORPUS_OUTPUT_COLUMNS = ["question_id", "question", "response", "answer", "dataset", "subject", "len", "prompt_id"]


def verdicts_from_published(pub: pd.DataFrame, seed: pd.DataFrame, where: str) -> pd.DataFrame:
    """One model's published correctness rows -> our verdict table (``VERDICT_COLUMNS``), joined to ``seed`` by id.

    ``check`` becomes ``correct``; ``status`` is 'ok' when a prediction was extracted, else 'no_answer'
    (what our own grader writes for a completion without a final answer).
    """
    import numpy as np
    import pandas as pd

    from ddcf.artifacts.verdicts import coerce_correct
    from ddcf.verify.grade import VERDICT_COLUMNS

    # 'check' may arrive as bool, 0/1 or 'True'/'False' text: read it as a verdict, never as truthiness
    check = coerce_correct(pub["check"].rename("check"), where)
    if check.isna().any() or not check.isin((0.0, 1.0)).all():
        raise DDCFError(f"{int((check.isna() | ~check.isin((0.0, 1.0))).sum())} row(s) of {where} have no "
                        "true/false 'check' value.", "use the published repo, or fill in 'check' for every row.")

    qid = seed_question_id(pub["prompt_id"]).to_numpy()
    dataset = pd.Series(qid).map(seed.set_index("question_id")["dataset"]).to_numpy()
    prediction = pub["prediction"].astype("string").str.strip()
    prediction = prediction.where(prediction != "", pd.NA)
    out = pd.DataFrame({
        "model": [model_from_hub(m) for m in pub["model"]],
        "question_id": qid,
        "question": pub["prompt"].astype("string").fillna("").astype(str).to_numpy(),
        "dataset": dataset,
        "completion": pub["completion"].astype("string").fillna("").astype(str).to_numpy(),
        "prediction": pd.array(prediction.to_numpy(), dtype="string"),
        "gold": pub["gold"].astype("string").fillna("").astype(str).to_numpy(),
        "correct": pd.array(check.to_numpy() == 1.0, dtype="bool"),
        "status": np.where(prediction.isna().to_numpy(), "no_answer", "ok"),
    })
    return out[VERDICT_COLUMNS]
