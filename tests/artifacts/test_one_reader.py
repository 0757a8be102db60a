"""Every file that passes between stages has one reader, in ddcf/artifacts/: no other function of ddcf/ opens
one of these files itself.

A function "opens" a file when it passes the file's Layout path (e.g. ``layout.corpus_questions``, or a local
variable assigned from it) to a raw reader (pd.read_parquet, read_table, pq.read_table/read_schema, json.loads,
read_json, read_side_file, ...).  Checking existence (``.exists()``), naming the path in a message or passing it
to an artifact reader is fine.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ddcf"
RAW_READERS = {"read_parquet", "read_table", "read_schema", "ParquetFile", "read_csv", "read_json", "loads",
               "read_side_file", "dataset"}
#: the Layout names of the files whose one reader lives in ddcf/artifacts (attribute or method name)
ARTIFACT_PATHS = {
    "corpus_questions": "corpus", "seed_questions": "seed", "difficulty": "difficulty",
    "selection_table": "selection", "selection_report": "selection", "verdicts": "verdicts",
    "train_split": "matrix", "val_split": "matrix", "test_split": "matrix", "model_order": "matrix",
    "eval_results": "eval_run", "sft_report": "sft_run", "sft_run_config": "sft_run",
}


def _mentions(node) -> set[str]:
    """Attribute and variable names inside an expression."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.Name):
            out.add(n.id)
    return out


def violations(source: str, where: str) -> list[str]:
    """Raw reader calls whose argument is an artifact's Layout path, directly or through a local variable
    assigned from it (``p = layout.difficulty(m); pd.read_parquet(p)``)."""
    found = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        alias: dict[str, set[str]] = {}
        for n in ast.walk(fn):
            if isinstance(n, ast.Assign):
                hit = _mentions(n.value) & set(ARTIFACT_PATHS)
                for t in n.targets:
                    if isinstance(t, ast.Name) and hit:
                        alias.setdefault(t.id, set()).update(hit)
        for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if name not in RAW_READERS:
                continue
            names = set().union(*(_mentions(a) for a in [*call.args, *(k.value for k in call.keywords)]), set())
            if isinstance(call.func, ast.Attribute):  # json.loads(layout.x.read_text()) / path.read_text()
                names |= _mentions(call.func.value)
            hits = (names & set(ARTIFACT_PATHS)) | set().union(*(alias.get(v, set()) for v in names), set())
            for attr in sorted(hits):
                found.append(f"{where}:{call.lineno} {fn.name}() reads Layout.{attr} with {name}(): read it "
                             f"through ddcf.artifacts.{ARTIFACT_PATHS[attr]}")
    return found


def all_violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        if rel.parts[1] == "artifacts" or rel.name == "layout.py":
            continue
        out += violations(path.read_text(encoding="utf-8"), str(rel))
    return out


def test_no_reader_outside_ddcf_artifacts():
    assert all_violations() == []


@pytest.mark.parametrize("source", [
    "def f(layout):\n    return pd.read_parquet(layout.corpus_questions)\n",
    "def f(layout, m):\n    p = layout.difficulty(m)\n    return read_table(p, 'x', [], 'y')\n",
    "def f(run):\n    return json.loads(Layout.selection_report(run).read_text())\n",
])
def test_the_check_catches_a_second_reader(source):
    assert len(violations(source, "x.py")) == 1


def test_the_check_leaves_existence_checks_alone():
    assert violations("def f(layout):\n    return layout.corpus_questions.exists()\n", "x.py") == []
