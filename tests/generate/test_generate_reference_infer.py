"""Stage 1's default (``--prompt_style reference``) against the released ``infer.py`` (iNLP-Lab/DDCF, 434f9d5).

How ``data/reference_infer.json`` was produced (outside the project; no released code or prose is stored here):

* ``git -C /work/.mirror/iNLP-Lab+DDCF/repo archive 434f9d5 infer.py prepare.py eval | tar -x -C /tmp/J/ref``
* ``/work/main/.venv/bin/python /tmp/J/drive.py qwenlike`` and ``... llamalike``.  The driver stubs ``sglang``
  with a fake ``Engine`` that records its constructor kwargs and every ``generate(prompts, sampling_params)``
  call and answers with :func:`ref_infer_lib.fake_answer`; stubs ``swifter``, ``eval.grader`` and ``eval.parser``
  and disables ``run_verification`` (grading is not compared here); sets ``prepare.fewshot_prompt_math`` /
  ``fewshot_prompt_gsm8k`` to :func:`ddcf.generate.prompts.exemplar_block` of *our* exemplars (the released
  template, exemplar choice and truncation run on our exemplar text); writes ``MATH/seed_math.csv`` from
  :data:`ref_infer_lib.SEED` (prompt, type, gold, prompt_id); builds the tokenizer with
  :func:`ref_infer_lib.build_tokenizer`; runs ``infer.main()`` with ``--model_name <tokenizer dir>``.
* Recorded: the engine kwargs, ``build_stop_tokens(tokenizer)``, both ``generate`` calls (sampling params, prompt
  texts, the ids ``tokenizer(text)`` gives -- what SGLang encodes), and the final CSV completions.
"""

import json
from pathlib import Path

import pandas as pd
import pytest
import ref_infer_lib as L

from ddcf.errors import DDCFError
from ddcf.generate import prompts as P
from ddcf.generate import runner as R
from ddcf.generate.completions import generate_shard
from ddcf.generate.config import GenerateConfig
from ddcf.generate.questions import order_questions
from ddcf.runs.backends import Backend, BackendOptions, Completion, HFTokenizer
from ddcf.runs.backends.sglang import engine_kwargs

DATA = json.loads((Path(__file__).parent / "data" / "reference_infer.json").read_text(encoding="utf-8"))
KINDS = ("qwenlike", "llamalike")


class RecordingBackend(Backend):
    """Answers like the driver's fake engine and records what it is asked (ids and sampling spec)."""

    name = "recording"

    def __init__(self, tok):
        super().__init__("fake", BackendOptions(context_length=4096))
        self._tok = tok
        self.calls = []

    @property
    def tokenizer(self):
        return self._tok

    @property
    def context_limit(self):
        return self.options.context_length

    def generate(self, prompts, spec, seeds=None):
        self.calls.append(([list(p) for p in prompts], spec))
        out = []
        for ids in prompts:
            text = self._tok.tok.decode(list(ids), skip_special_tokens=True)
            out.append([Completion(L.fake_answer(text), len(ids), 5, "stop")])
        return out


@pytest.fixture(scope="module", params=KINDS)
def tok(request, tmp_path_factory):
    path = L.build_tokenizer(tmp_path_factory.mktemp(request.param), request.param)
    return request.param, HFTokenizer.load(str(path))


def seed_part() -> pd.DataFrame:
    df = pd.DataFrame(L.SEED, columns=["question_id", "question", "gold", "dataset", "type"])
    return order_questions(df)  # the runner's order (the released one is the file's): matched by tag below


def ids_digest(ids) -> str:
    return L.digest(json.dumps(list(ids)))


def test_prompt_texts_and_truncation_equal_the_released(tok):
    kind, t = tok
    want = {p["tag"]: p for p in DATA[kind]["main_prompts"]}
    part = seed_part()
    built = P.build_reference_prompts(t, part["question"].tolist(), part["dataset"].tolist(), 1024,
                                      types=part["type"].tolist())
    assert len(built) == len(want) == 6
    for q, b in zip(part["question"], built):
        w = want[L.last_tag(q)]
        assert b.text == w["text"]
        assert b.truncated == w["truncated"]
        assert len(b.ids) == w["n_engine_ids"] and ids_digest(b.ids) == w["engine_ids_sha256"]
    # the fixture covers both sides of the cut and the type rule (q2 is typed 'Algebra': GSM8K exemplars)
    assert {w["truncated"] for w in want.values()} == {True, False}
    assert P.GSM8K_EXEMPLARS[-1].problem in want["q2"]["text"] and P.MATH_EXEMPLARS[-1].problem in want["q1"]["text"]


def test_generate_shard_makes_the_released_calls_and_completions(tok):
    kind, t = tok
    ref = DATA[kind]
    backend = RecordingBackend(t)
    config = GenerateConfig(model_name="fake", backend="dummy")
    assert config.prompt_style == "reference"  # the default
    df, stats = generate_shard(backend, seed_part(), config)

    assert len(backend.calls) == 2  # one main call, one follow-up call, like the released run
    (main_ids, main_spec), (fu_ids, fu_spec) = backend.calls
    for name, spec in (("main_params", main_spec), ("followup_params", fu_spec)):
        p = ref[name]
        assert list(spec.stop) == p["stop"] and spec.max_new_tokens == p["max_new_tokens"]
        assert spec.temperature == p["temperature"] and spec.n == 1
    assert list(main_spec.stop) == ref["stop_tokens"]
    want_main = {p["tag"]: p for p in ref["main_prompts"]}
    for ids in main_ids:
        w = want_main[L.last_tag(t.tok.decode(ids))]
        assert ids_digest(ids) == w["engine_ids_sha256"]  # the ids SGLang would encode from the released text
    want_fu = {p["tag"]: p for p in ref["followup_prompts"]}
    got_fu = {L.last_tag(t.tok.decode(ids)): ids for ids in fu_ids}
    assert set(got_fu) == set(want_fu) == {"q2", "q3", "q4", "q5"}  # q1's unclosed "\\boxed{" gets none
    for tag, ids in got_fu.items():
        assert ids_digest(ids) == want_fu[tag]["engine_ids_sha256"]
        assert t.tok(want_fu[tag]["text"])["input_ids"] == ids

    got = dict(zip(df["question"], df["completion"]))
    assert got == ref["completions"]
    assert set(df.loc[df["followup"], "question"].map(L.last_tag)) == set(want_fu)


def test_engine_context_and_stop_list(tok):
    kind, t = tok
    ref = DATA[kind]
    config = GenerateConfig(model_name="m")
    assert config.resolved_context_length == ref["engine"]["context_length"] == 4096
    assert config.max_new_tokens == ref["main_params"]["max_new_tokens"] == 2700
    assert config.resolved_followup_max_tokens == ref["followup_params"]["max_new_tokens"] == 30
    assert list(config.stop_strings(t.eos_token)) == ref["stop_tokens"]
    opts = BackendOptions(context_length=config.resolved_context_length)
    assert engine_kwargs("m", opts)["context_length"] == 4096
    ddcf = GenerateConfig(model_name="m", prompt_style="ddcf")
    assert ddcf.resolved_context_length is None and ddcf.resolved_followup_max_tokens == 32
    assert ddcf.stop_strings(t.eos_token) == ("Problem:",)


def test_type_column_rule_and_dataset_fallback():
    assert P.reference_kind("math", "math") == "math"
    assert P.reference_kind("math", "Algebra") == "gsm8k"  # released: only the exact type 'math' is MATH
    assert P.reference_kind("gsm8k", "MATH") == "gsm8k"
    assert P.reference_kind("math") == "math" and P.reference_kind("gsm8k_test") == "gsm8k"  # no type column
    text = P.reference_prompt_text("Q ", "math")
    assert text.endswith("\n\nProblem:\nQ \n\nSolution:") and text.startswith("Problem:\n")


def test_fingerprint_and_run_config_change_with_the_style():
    ordered = order_questions(pd.DataFrame(L.SEED, columns=["question_id", "question", "gold", "dataset", "type"]))
    ref = R.run_config(GenerateConfig(model_name="m"), ordered, "dummy")
    old = R.run_config(GenerateConfig(model_name="m", prompt_style="ddcf"), ordered, "dummy")
    assert ref["prompts_sha256"] != old["prompts_sha256"] and ref["config_sha256"] != old["config_sha256"]
    assert old["prompts_sha256"] == P.prompts_fingerprint(False)  # the hash runs had before styles existed
    # ddcf style writes exactly the keys earlier runs wrote, so their shards stay valid
    assert not {"prompt_style", "context_length", "types_sha256"} & set(old)
    assert ref["prompt_style"] == "reference" and ref["context_length"] == 4096 and ref["types_sha256"]


def test_resume_across_styles_is_refused_naming_the_option(seeded):
    from gen_testlib import fake_grade

    def run(style):
        s = GenerateConfig(model_name="dummy/model-a", backend="dummy", shard_size=3, max_new_tokens=400,
                           no_progress=True, prompt_style=style)
        return R.run_generation(seeded, s, grade_fn=fake_grade, log=lambda m: None)

    assert run("ddcf").status == "done"
    with pytest.raises(DDCFError) as e:
        run("reference")
    assert "--prompt_style ddcf" in e.value.fix and "--prompt_style ddcf" in e.value.what
    assert run("ddcf").status == "skipped"  # the old run is still whole


def test_chat_template_needs_the_ddcf_style():
    with pytest.raises(DDCFError, match="--prompt_style ddcf"):
        GenerateConfig(model_name="m", chat_template=True).check()
    GenerateConfig(model_name="m", chat_template=True, prompt_style="ddcf").check()


def test_truncation_equals_the_released_truncate_prompts(tok):
    """Limit 20 (see ``_truncate_prompts_produced_by`` in the data file): a cut inside a multi-byte character,
    the exact-limit case and special tokens kept by the decode."""
    kind, t = tok
    ref = DATA["truncate_prompts_limit20"][kind]
    assert [len(ids) for ids in t.encode(ref["inputs"], add_special_tokens=False)] == ref["n_tokens"]
    cut = P.reference_truncate(t, ref["inputs"], 20)
    assert [text for text, _ in cut] == ref["outputs"]
    assert [flag for _, flag in cut] == [n >= 20 for n in ref["n_tokens"]]


def test_ddcf_style_keeps_the_config_hash_of_runs_made_before_prompt_styles():
    """The value the runner wrote before --prompt_style existed (computed with the previous commit's
    ddcf/generate/runner.py, followup_max_tokens 32, on gen_testlib.seed_frame()): those shards still resume."""
    from gen_testlib import seed_frame

    rc = R.run_config(GenerateConfig(model_name="m", prompt_style="ddcf"), order_questions(seed_frame()), "x")
    assert rc["config_sha256"] == "1874cd2072e7fb7ed74ea86c942e58ede50af5948fe3bf290fe5b55ef56d6d0b"
