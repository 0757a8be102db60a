"""Writes tests/verify/data/answer_type_golden.jsonl: realistic rows in the ZeroEval JSON style (and the other
answer locations) with a hand-checked label.  Run once
(python tests/verify/data/make_answer_type_golden.py tests/verify/data/answer_type_golden.jsonl);
the JSONL is the fixture.  Labels were set by hand from what each answer means, not from a grader."""
import json

R = "Let me trace the function step by step. The loop visits each character and appends it."

def zj(answer_json, fence=True, tag="json", reasoning=R, after=""):
    body = '{\n    "reasoning": "%s",\n    "answer": %s\n}' % (reasoning, answer_json)
    if fence:
        body = f"```{tag}\n{body}\n```" if tag is not None else f"```\n{body}\n```"
    return body + after

CODE = [
    # (model, gold, completion, label)
    ("m-a", "'cba'", zj('"cba"'), True),                           # quoted content is the string itself
    ("m-a", "'cba'", zj("\"'cba'\""), True),                       # quoted Python literal
    ("m-a", "[1, 2, 3]", zj('"[1, 2, 3]"'), True),
    ("m-a", "[1, 2, 3]", zj('[1, 2, 3]'), True),                   # bare JSON array
    ("m-a", "(1, 'a')", zj('"(1, \'a\')"'), True),
    ("m-a", "(1, 'a')", zj('[1, "a"]'), True),                     # JSON has no tuples: bare array for a tuple
    ("m-a", "(1, 'a')", zj("\"[1, 'a']\""), False),                # a Python list literal is no tuple
    ("m-a", "[1, 'a']", zj("\"(1, 'a')\""), False),                # a tuple never matches a list gold
    ("m-a", "{'a': 1, 'b': 2}", zj("\"{'b': 2, 'a': 1}\""), True),
    ("m-a", "{'a': 1, 'b': 2}", zj('{"a": 1, "b": 2}'), True),     # bare JSON object
    ("m-a", "True", zj('"True"'), True),
    ("m-a", "True", zj("true", fence=False), True),                # bare JSON true
    ("m-a", "True", zj('"1"'), False),                              # a bool is no number
    ("m-a", "None", zj('"None"'), True),
    ("m-a", "''", zj("\"''\""), True),
    ("m-a", "''", zj('""'), True),                                  # the JSON empty string
    ("m-b", "'hello world'", zj("\"assert f('hello', 'world') == 'hello world'\""), True),
    ("m-b", "[3, 1]", zj('"f([1, 3]) == [3, 1]"'), True),
    ("m-b", "12", zj('"12"', fence=False), True),
    ("m-b", "12", zj('12', fence=False), True),
    ("m-b", "'12'", zj('"12"'), True),                              # string gold, quoted digits
    ("m-b", "'12'", zj('12'), False),                               # a bare number is no string
    ("m-b", "3.5", zj('"3.5"', tag=None), True),                    # fence without a language tag
    ("m-b", "[1, 2]", zj('"[1, 2],"'), True),                       # trailing comma
    ("m-b", "'abc'", zj("\"'abc' \""), True),                       # trailing whitespace
    ("m-b", "'xyz'", zj('"xy"'), False),
    ("m-b", "[2, 4]", zj('"[2, 4, 6]"'), False),
    # malformed JSON: LaTeX-ish backslash and an unescaped quote in the reasoning, missing closing brace
    ("m-c", "'a\"b'",
     '```json\n{\n  "reasoning": "the code joins "a" and \\"b\\" with a quote",\n  "answer": "\'a\\"b\'"\n```', True),
    ("m-c", "[0, 1]", '{"reasoning": "loop from 0 to 1\\n", "answer": [0, 1],}', True),      # trailing comma
    ("m-c", "(2, 3)", "{'reasoning': 'swap', 'answer': (2, 3)}", True),                      # Python dict style
    ("m-c", "'ok'", zj('"ok"', after="\n\nThis is because the condition is true, so 'fail' is never returned."),
     True),                                                                                    # text after
    ("m-c", "5", zj('"4"', fence=False) + "\n\nWait, I miscounted.\n" + zj('"5"', fence=False), True),  # corrected
    ("m-c", "5", zj('"5"', fence=False) + "\n\nHmm, actually:\n" + zj('"4"', fence=False), False),
    ("m-c", "{'x': [1]}", '```json\n{"reasoning": "builds a dict", "answer": "{\'x\': [1]}"}\n```', True),
    # other locations
    ("m-d", "'olleh'", "[THOUGHT]\nReverses the string.\n[/THOUGHT]\n[ANSWER]\nassert f('hello') == 'olleh'\n[/ANSWER]",
     True),
    ("m-d", "[1, 4, 9]", "Each element is squared.\n\nThe output is `[1, 4, 9]`.", True),
    ("m-d", "[1, 4, 9]", "Each element is squared, so the function returns [1, 4, 9].", True),
    ("m-d", "'B'", "The final answer is:\n```python\n'B'\n```", True),
    ("m-d", "6", "Summing gives 6.\n\n\\boxed{6}", True),
    ("m-d", "False", "```python\nFalse\n```", True),
    ("m-d", "[]", "The list ends up empty.\n\n[]", True),
    ("m-d", "'abc'", "I cannot determine the output without running the code.", False),
    ("m-d", "(1, 2)", "Output: (1, 2)", True),
    ("m-d", "{1, 2}", zj('"{2, 1}"'), True),
    ("m-d", "-3", zj('"-3"'), True),
    ("m-d", "'a,b'", zj("\"'a,b'\""), True),
]

CHOICE_Q = ("Which planet is the largest?\nA. Mars\nB. Jupiter\nC. Venus\nD. Earth")
CHOICE = [
    ("m-a", "B", zj('"B"'), True),
    ("m-a", "B", zj('"(B) Jupiter"'), True),
    ("m-a", "B", zj('"C"'), False),
    ("m-a", "Jupiter", zj('"B"', fence=False), True),                # gold as option text
    ("m-b", "B", "Jupiter is a gas giant.\n\nThe answer is (B).", True),
    ("m-b", "B", "Answer: A\nWait, Mars is smaller. Actually the answer is C... no. The answer is B.", True),
    ("m-b", "B", "\\boxed{B}", True),
    ("m-b", "B", "B) Jupiter", True),
    ("m-b", "B", "Jupiter has the most mass.\n\n**B**", True),
    ("m-c", "B", "Mars (A) is small and Earth (D) is smaller than Jupiter.\nI choose B.", True),   # fallback
    ("m-c", "B", "A. Mars\nB. Jupiter\nC. Venus\nD. Earth", False),                                # copies options
    ("m-c", "B", "I am not sure.", False),
    ("m-c", "B", zj('"B"') + "\n\nJupiter is more than twice as massive as all other planets combined.", True),
]

EXACT = [
    ("m-a", "Paris", zj('"Paris"'), True),
    ("m-a", "Paris", zj('"paris."', fence=False), True),
    ("m-a", "Paris", "The capital is Paris.\n\nThe answer is **Paris**.", True),
    ("m-b", "Paris", "\\boxed{\\text{Paris}}", True),
    ("m-b", "Paris", "Lyon? No.\nParis", True),
    ("m-b", "Paris", zj('"Lyon"'), False),
    ("m-b", "blue", "```\nblue\n```", True),
    ("m-b", "blue", "<answer>Blue</answer>", True),
]

MATH = [
    ("m-a", "# 18", zj('"18"', fence=False), True),
    ("m-a", "# 18", zj('"$18"'), True),
    ("m-a", "# 18", "Janet sells 9 eggs at $2.\n#### 18", True),
    ("m-a", "# 18", zj('"16"'), False),
    ("m-b", "\\frac{1}{2}", zj('"\\frac{1}{2}"'), True),                 # invalid JSON escape kept
    ("m-b", "\\frac{1}{2}", "So the probability is $\\boxed{\\frac12}$.", True),
    ("m-b", "3\\sqrt{5}", '{\n  "reasoning": "d = \\sqrt{45}",\n  "answer": "$3\\sqrt{5}$"\n}', True),
    ("m-b", "\\frac{1}{2}", "The answer is 0.5.", True),
]


def main(path):
    rows = []
    for kind, table, q in (("code_output", CODE, "def f(s):\n    ...\nassert f(??) == ??\nWhat is the output?"),
                           ("choice", CHOICE, CHOICE_Q), ("exact", EXACT, "What is the capital of France?"),
                           ("math", MATH, "Janet's ducks lay 16 eggs per day...")):
        for i, (model, gold, comp, label) in enumerate(table):
            rows.append({"model": model, "question_id": f"{kind}/{i}", "question": q, "gold": gold,
                         "completion": comp, "answer_type": kind, "label": label})
    with open(path, "w") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    print(len(rows), {k: sum(r["answer_type"] == k for r in rows) for k in ("code_output", "choice", "exact", "math")})


if __name__ == "__main__":
    import sys
    main(sys.argv[1])
