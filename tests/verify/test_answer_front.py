"""The one extraction front (ddcf/verify/front.py) and every answer type on real-looking outputs.

The golden table (tests/verify/data/answer_type_golden.jsonl, written by make_answer_type_golden.py) holds
ZeroEval-style JSON answers (``{"reasoning": ..., "answer": ...}``, in a ```json fence, a bare fence or none;
malformed JSON; answers followed by text; self-corrections) and the other answer locations, with CRUXEval-style
literal golds, MMLU-style letters, short strings and GSM8K/MATH golds; each row's label was set by hand.
"""

from pathlib import Path

import pandas as pd
import pytest

from ddcf.verify import answer_types as AT
from ddcf.verify.answer_types import pick
from ddcf.verify.front import Front
from ddcf.verify.grade import grade_completions

GOLDEN = Path(__file__).parent / "data" / "answer_type_golden.jsonl"
SEED = Path(__file__).resolve().parents[2] / "data" / "bundled" / "seed_completions.parquet"


def golden():
    return pd.read_json(GOLDEN, lines=True, dtype=False)


def test_every_golden_row_gets_its_label():
    df = golden()
    assert len(df) >= 70 and (df["answer_type"] == "code_output").sum() >= 40
    out = grade_completions(df.drop(columns="label"), workers=1, progress=False)
    wrong = out[out["correct"].astype(bool) != df["label"].astype(bool)]
    assert wrong.empty, wrong[["question_id", "gold", "prediction", "status"]].to_string()


def test_code_output_never_compares_the_whole_json_object():
    """The issue's failure mode: the type parsed the JSON object (a dict) and compared it with the gold."""
    kind = AT.get("code_output")
    text = '```json\n{\n    "reasoning": "reverses",\n    "answer": "\'cba\'"\n}\n```'
    r = kind.read(text)
    assert (r.location, r.status) == ("json", "ok") and kind.same(r.value, "cba")
    assert not any(isinstance(v, dict) for v in r.value.values)


@pytest.mark.parametrize("text,location,span", [
    ('```json\n{"reasoning": "x", "answer": "42"}\n```', "json", "42"),
    ('{"reasoning": "has "quotes" and \\frac", "answer": [1, (2, 3)]', "json", "[1, (2, 3)]"),  # malformed
    ("{'reasoning': 'py dict', 'answer': (1, 'a')}", "json", "(1, 'a')"),
    ('{"answer": "1"}\nNo wait.\n{"answer": "2"}\nThat is final.', "json", "2"),  # several, then text
    ("[ANSWER]\nassert f(1) == 2\n[/ANSWER]", "tag", "assert f(1) == 2"),
    ("<answer> B </answer>", "tag", "B"),
    ("so \\boxed{7} it is", "boxed", "7"),
    ("work\n#### 1,200\n", "hash", "1,200"),
    ("The answer is 5. Then more text.", "phrase", "5"),
    ("The output is:\n```\n[1, 2]\n```", "output", "[1, 2]"),
    ("```python\n[1, 2]\n```", "fence", "[1, 2]"),
    ("```\n'x'\n```", "fence", "'x'"),
    ("```[3]```", "fence", "[3]"),
    ("reasoning...\n\n  (1, 2)  \n", "last_line", "(1, 2)"),
])
def test_front_locations(text, location, span):
    got = Front(text).span(location)
    assert got is not None and (got.raw if location == "output" else got.text) == span
    assert Front("").span(location) is None


def test_fence_holding_a_json_answer_is_the_json_location_not_a_fence():
    text = '```json\n{"reasoning": "r", "answer": "[1]"}\n```'
    assert Front(text).span("fence") is None and Front(text).span("json").text == "[1]"


def test_statuses_no_answer_unparsed_fallback():
    code = AT.get("code_output")
    assert code.read("").status == "no_answer"
    # a bare value that is neither JSON nor a Python literal (a quoted one is a string, so it parses)
    assert code.read('{"reasoning": "r", "answer": the list [1, 2] reversed}').status == "unparsed"
    assert code.read('{"reasoning": "r", "answer": "the list [1, 2] reversed"}').status == "ok"
    assert code.read("I do not know").status == "no_answer"  # a last line that parses to nothing is no span
    choice = AT.get("choice")
    assert choice.read("Mars is small.\nI choose B.").status == "fallback"


@pytest.mark.parametrize("text,gold,ok", [
    ('{"answer": [1, "a"]}', "(1, 'a')", True),  # bare JSON array for a tuple gold
    ('{"answer": [[1, "a"], [2, "b"]]}', "[(1, 'a'), (2, 'b')]", True),  # nested
    ('{"answer": "[1, \'a\']"}', "(1, 'a')", False),  # a Python list literal is no tuple
    ('{"answer": [1, 2]}', "[1, 2]", True),
    ('{"answer": "(1, 2)"}', "[1, 2]", False),  # a list gold never accepts a tuple
    ("```python\n[1, 2]\n```", "(1, 2)", False),  # outside a bare JSON value, as in Python
    ('{"answer": true}', "True", True),
    ('{"answer": 1}', "True", False),
    ('{"answer": "1"}', "'1'", True),
    ('{"answer": "1"}', "1", True),
    ('{"answer": 1}', "'1'", False),
])
def test_code_output_tuple_and_json_rules(text, gold, ok):
    kind = AT.get("code_output")
    assert kind.same(kind.read(text).value, kind.gold(gold, "")) is ok


# Forms seen in real published CRUXEval outputs (ZeroEval result files of 47 models, graded against their
# leaderboard): before these rules "[]", "-" and spaces were skipped as placeholders (1,260 rows 'unparsed').
@pytest.mark.parametrize("text,gold,ok", [
    ('```json\n{\n    "reasoning": "...",\n    "answer": "[]"\n}\n```', "[]", True),
    ('{"reasoning": "r", "answer": "[]"}', "[7, 1, 2]", False),
    ('{"reasoning": "the string \'-\' is returned", "answer": "-"}', "'-'", True),
    ('{"reasoning": "eight spaces", "answer": "        "}', "'        '", True),
    ('{"reasoning": "r", "answer": "___"}', "'___'", False),  # the template's blank stays no answer
    ('{"reasoning": "r", "answer": "t\\nZA\\nA"}', "'t\\nZA\\nA'", True),  # the gold's escapes, no quotes
    ('{"reasoning": "r", "answer": "\'148: b\'148\'\'"}', '"148: b\'148\'"', True),  # broken quoting
    ('{"reasoning": "r", "answer": "\'{\'a\': -1, \'b\': 0}\'"}', "{'a': -1, 'b': 0}", True),
    ('{"reasoning": "r", "answer": "\\"[\'a\']\\""}', "['a']", True),  # a string spelling the literal
    ('{"reasoning": "r", "answer": "\'20\'"}', "20", False),  # a string is not the number
])
def test_code_output_real_output_forms(text, gold, ok):
    kind = AT.get("code_output")
    reading = kind.read(text)
    assert reading.status == "ok" or not ok
    assert kind.same(reading.value, kind.gold(gold, "")) is ok


def test_auto_picks_per_dataset_and_says_why():
    picks = {}
    q = "Pick one:\nA. 1\nB. 2\nC. 3"
    types = pick.resolve([None] * 6, ["crux", "crux", "mmlu", "mmlu", "numbers", "gsm8k"], "auto",
                       golds=["'abc'", "3", "B", "(c)", "3", "# 3"], questions=["", "", q, q, "", ""], picks=picks)
    assert types == ["code_output", "code_output", "choice", "choice", "math", "math"]
    assert picks["crux"][0] == "code_output" and "literal" in picks["crux"][1]
    assert "gsm8k" not in picks  # a dataset default decides, not auto
    assert pick.resolve([None], ["x"], "auto") == ["math"]  # without golds: math, as before


def test_verify_stage_summary_counts_format_problems_and_auto(tmp_path, capsys):
    from ddcf.verify.cli import command

    df = golden()
    code = df[df["answer_type"] == "code_output"].drop(columns=["answer_type", "label"]).assign(dataset="crux")
    broken = code.assign(model="m-broken", completion="I would need to run it.")
    src = tmp_path / "crux.jsonl"
    pd.concat([code, broken]).to_json(src, orient="records", lines=True)
    assert command.main(["--completions", str(src), "--workdir", str(tmp_path / "w"), "--no_progress",
                         "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "graded as code_output" in out and "m-broken" in out and "format problem" in out
    summary = pd.read_parquet(tmp_path / "w" / "DDCF_data" / "verify_summary.parquet").set_index("model")
    assert summary.loc["m-broken", "no_answer"] == len(code) and "unparsed" in summary.columns


@pytest.mark.skipif(not SEED.exists(), reason="bundled data not installed")
def test_math_reads_the_bundled_rows_as_its_chains_do():
    """The math type goes through the front with the chains' own locations: same answers on real rows."""
    from ddcf.verify.answer_types.math import read_style
    from ddcf.verify.extract import get_chain
    from ddcf.verify.gold import grading_style

    df = pd.read_parquet(SEED).sample(n=3000, random_state=0)
    for comp, ds, g in zip(df["completion"], df["dataset"], df["gold"]):
        st = grading_style(ds, g)
        old, new = get_chain(st)(comp), read_style(comp, st)
        assert old.answer == (new.value if new.status in ("ok", "fallback") else None), comp[-300:]
