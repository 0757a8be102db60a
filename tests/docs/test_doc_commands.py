"""Every command and path in README.md, ARCHITECTURE.md, docs/*.md and benchmarks/README.md is checked against the code.

* Commands in fenced blocks (``ddcf ...``, ``python X.py ...``, ``python -m ddcf ...``, ``accelerate launch ... X.py``)
  are parsed by the real parser of that command, with its real validation, but the stage is never run:
  :meth:`ddcf.pipeline.StageCommand.execute` is replaced by a recorder. Scripts without a ddcf parser
  (benchmarks) must exist and contain every documented flag.
* ``bash X.sh ...``: the script exists and names every documented flag and environment variable (a script that
  forwards its other options to a Python stage has them parsed by that stage).
* ``make T VAR=...``: the Makefile has the target and uses the variable; ``pip install -e ".[x]"``: the extra exists.
* Inline code that starts with a command (`` `ddcf score --name` ``, `` `infer.py --n K` ``): every ``--flag`` in it
  is an option of that command.
* Inline paths into the repository (``ddcf/...``, ``tests/...``, top-level scripts) exist; relative links resolve
  (and their ``#anchor`` names a heading); the README links every docs page and every page links back.

The ``test_*_catches_*`` tests feed made-up commands, flags, targets and links through the same checks.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md")),
        ROOT / "benchmarks" / "README.md"]
SHELL_LANGS = {"bash", "sh", "shell", "console"}
#: shell scripts that pass the options they do not know on to a Python stage (the flags are checked there)
FORWARDS = {"run_infer_all_models.sh": "infer.py"}
#: repository folders an inline path may point into (runtime folders such as DDCF_data/ are not checked)
REPO_DIRS = ("ddcf/", "tests/", "scripts/", "benchmarks/", "data/", "train/", "eval/", "requirements/", "docs/", ".ci/")
TOP_FILES = ("Makefile", "pyproject.toml", "requirements.txt", "requirements-dev.txt", "ARCHITECTURE.md")
#: first words in a shell block that are not ddcf commands and need no check
OTHER_WORDS = {"cd", "export", "git", "ls", "cat", "echo"}
COMMAND_WORDS = {"ddcf", "python", "python3", "bash", "sh", "make", "accelerate", "pip"}
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9_]*")
ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass
class Block:
    lang: str
    line: int  # 1-based line of the opening fence
    text: str


def fenced_blocks(text: str) -> list[Block]:
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+)\s*(\S*)", lines[i])
        if m:
            start, fence, body = i, m.group(2), []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            blocks.append(Block(m.group(3).lower(), start + 1, "\n".join(body)))
        i += 1
    return blocks


def prose(text: str) -> str:
    """The text outside fenced blocks."""
    return re.sub(r"^\s*```.*?^\s*```[^\n]*$", "", text, flags=re.S | re.M)


def inline_spans(text: str) -> list[str]:
    return [m.group(2).strip() for m in re.finditer(r"(`+)(.+?)\1", prose(text).replace("\n", " "))]


def shell_lines(block: Block) -> list[tuple[int, str]]:
    """(line number, command) per logical line: continuations joined."""
    out, pending, first = [], "", 0
    for n, raw in enumerate(block.text.splitlines(), start=block.line + 1):
        if not pending:
            first = n
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        if line and not line.startswith("#"):
            out.append((first, line))
    return out


# ------------------------------------------------------------------------------------------ the real parsers
def _script_entry(path: Path) -> Callable | None:
    """The ``main`` a top-level script runs, when it is a ddcf front end (``from ddcf.x import main``)."""
    m = re.search(r"^from (ddcf[\w.]*) import main\b", path.read_text(), flags=re.M)
    if not m:
        return None
    from ddcf.cli import run_main

    main = importlib.import_module(m.group(1)).main
    return lambda argv: run_main(main, argv)


def _ddcf_entry(name: str) -> Callable | None:
    from ddcf.cli import SUBCOMMANDS, main

    return (lambda argv: main([name, *argv])) if name in SUBCOMMANDS else None


def _module_entry(module: str) -> tuple[Callable | None, str | None]:
    """``python -m module``: the ddcf command, a subcommand's module form, or None (with why)."""
    from ddcf.cli import SUBCOMMANDS, main

    if module == "ddcf":
        return (lambda argv: main(argv)), None
    for name, (_, script, _what) in SUBCOMMANDS.items():
        if script == f"python -m {module}":
            return _ddcf_entry(name), None
    return None, f"`python -m {module}` is not a ddcf command (ddcf/cli.py SUBCOMMANDS names none)"


def parse_only(entry: Callable, argv: list[str], tmp: Path) -> str | None:
    """Parse and validate ``argv`` as the command would, without running the stage; None or the error text."""
    from ddcf.pipeline import StageCommand

    argv = list(argv)
    for i, tok in enumerate(argv[:-1]):
        if tok == "--config" and not (ROOT / argv[i + 1]).is_file():
            # a file a run wrote (it holds every option): stand in a YAML with the required ones not on the line
            required = {a.dest for p in parsers_of(entry) for a in p._actions
                        if a.required and not set(a.option_strings) & set(argv)}
            argv[i + 1] = str(tmp / "run.config.yaml")
            Path(argv[i + 1]).write_text("".join(f"{d}: X\n" for d in sorted(required)) or "{}\n")
    parsed: list = []

    def record(self, config, prog=None):
        parsed.append(config)
        return 0

    out = io.StringIO()
    with mock.patch.object(StageCommand, "execute", record), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(out):
        try:
            code = entry(argv)
        except SystemExit as exc:
            code = exc.code
    if code == 0 and parsed:
        return None
    return " ".join(out.getvalue().split())[-600:] or f"exit status {code}"


def option_strings(entry: Callable) -> set[str]:
    """Every option string of a command's parser."""
    return {s for p in parsers_of(entry) for s in p._option_string_actions}


def parsers_of(entry: Callable) -> list:
    """The parsers a command builds (caught by building them the way the command does, for ``--help``)."""
    import ddcf.config

    parsers: list = []
    real = ddcf.config.build_parser

    def spy(*args, **kwargs):
        parsers.append(real(*args, **kwargs))
        return parsers[-1]

    with mock.patch.object(ddcf.config, "build_parser", spy), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        try:
            entry(["--help"])
        except SystemExit:
            pass
    return parsers


# ------------------------------------------------------------------------------------------ the checks
def _flags_in_text(flags: list[str], path: Path) -> list[str]:
    text = path.read_text()
    return [f"{f} does not appear in {path.relative_to(ROOT)}" for f in flags if not re.search(
        re.escape(f) + r"(?![\w-])", text)]


def _make_target(target: str, variables: list[str]) -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    problems = [] if re.search(rf"^{re.escape(target)}\s*:", makefile, flags=re.M) else [
        f"the Makefile has no target '{target}'"]
    return problems + [f"the Makefile does not use {v}" for v in variables if not re.search(
        rf"\b{re.escape(v)}\b", makefile)]


def _extras() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(data["project"].get("optional-dependencies", {}))


def check_python(script: str, args: list[str], tmp: Path) -> list[str]:
    path = ROOT / script
    if not path.is_file():
        return [f"{script} does not exist"]
    entry = _script_entry(path)
    if entry is None:  # a benchmark or helper script with its own argparse: the flags must be in it
        return _flags_in_text([a.split("=")[0] for a in args if FLAG.fullmatch(a.split("=")[0])], path)
    error = parse_only(entry, args, tmp)
    return [] if error is None else [f"{script} {' '.join(args)}: {error}"]


def check_command(line: str, tmp: Path, shell: bool = True) -> list[str]:
    """The problems of one command line (empty when it parses); ``shell``: unknown first words are problems."""
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        return [f"cannot split '{line}': {exc}"]
    env = []
    while tokens and ENV.match(tokens[0]):
        env.append(tokens.pop(0).split("=", 1)[0])
    if not tokens:
        return []
    word, args = tokens[0], tokens[1:]
    base = word.rsplit("/", 1)[-1]
    if base in ("python", "python3"):
        if args[:1] == ["-m"]:
            entry, why = _module_entry(args[1])
            if entry is None:
                return [why]
            error = parse_only(entry, args[2:], tmp)
            return [] if error is None else [f"python -m {args[1]}: {error}"]
        return check_python(args[0], args[1:], tmp) if args else ["python without a script"]
    if word == "ddcf":
        entry = _ddcf_entry(args[0]) if args else None
        if entry is None:
            return [f"'ddcf {args[0] if args else ''}' is not a ddcf command (ddcf --help lists them)"]
        error = parse_only(entry, args[1:], tmp)
        return [] if error is None else [f"ddcf {' '.join(args)}: {error}"]
    if base in ("bash", "sh"):
        script = ROOT / args[0]
        if not script.is_file():
            return [f"{args[0]} does not exist"]
        rest = args[1:]
        problems = [f"{args[0]} does not use the environment variable {v}" for v in env
                    if not re.search(rf"\b{v}\b", script.read_text())]
        forward = FORWARDS.get(script.name)
        own = [a for a in rest if FLAG.fullmatch(a) and re.search(re.escape(a) + r"\b", script.read_text())]
        if forward:  # the script's own options, the rest goes to the stage
            kept = [a for a in rest if a not in own and not (rest.index(a) > 0 and rest[rest.index(a) - 1] in own)]
            return problems + check_python(forward, ["--model_name", "M", *kept], tmp)
        return problems + _flags_in_text([a for a in rest if FLAG.fullmatch(a)], script)
    if word == "make":
        targets = [a for a in args if "=" not in a and not a.startswith("-")] or ["all"]
        variables = [a.split("=", 1)[0] for a in args if "=" in a] + env
        return [p for t in targets for p in _make_target(t, variables)]
    if word == "accelerate":
        if args[:1] != ["launch"]:
            return [f"accelerate {args[:1]}: only 'accelerate launch' is documented"]
        rest, problems = args[1:], []
        while rest and not rest[0].endswith(".py"):
            opt = rest.pop(0)
            if opt == "--config_file" and rest:
                cfg = rest.pop(0)
                if not (ROOT / cfg).is_file():
                    problems.append(f"the accelerate config {cfg} does not exist")
        return problems + (check_python(rest[0], rest[1:], tmp) if rest else ["accelerate launch without a script"])
    if base == "pip":
        extras = [e for a in args for m in [re.fullmatch(r"\.\[([\w,-]+)\]", a)] if m for e in m.group(1).split(",")]
        return [f'pip install -e ".[{e}]": pyproject.toml has no extra {e}' for e in extras if e not in _extras()]
    if word in OTHER_WORDS or not shell:
        return []
    return [f"unknown command '{word}' (the doc check knows ddcf, python, bash, make, accelerate, pip)"]


def _inline_command(span: str) -> tuple[Callable | None, str | None]:
    """The entry of an inline span that starts with a command, and its label; (None, None) otherwise."""
    words = span.split()
    if words[0] in ("python", "python3") and len(words) > 1 and words[1] != "-m":
        words = words[1:]
    if words[0] == "ddcf" and len(words) > 1:
        return _ddcf_entry(words[1]), f"ddcf {words[1]}"
    if words[0] in ("python", "python3") and len(words) > 2:
        return _module_entry(words[2])[0], f"python -m {words[2]}"
    if re.fullmatch(r"[\w/.-]+\.py", words[0]) and (ROOT / words[0]).is_file():
        return _script_entry(ROOT / words[0]), words[0]
    return None, None


def check_inline(span: str) -> list[str]:
    """An inline span: a command's flags exist; a repository path exists."""
    words = span.split()
    if not words:
        return []
    if words[0] == "make" and len(words) > 1:
        return [p for t in words[1:] if "=" not in t and re.fullmatch(r"[\w-]+", t) for p in _make_target(t, [])]
    if words[0] == "bash" and len(words) > 1 and words[1].endswith(".sh"):
        script = ROOT / words[1]
        return [f"{words[1]} does not exist"] if not script.is_file() else _flags_in_text(
            [f for f in FLAG.findall(span) if script.name not in FORWARDS], script)
    entry, label = _inline_command(span)
    if entry is not None:
        known = option_strings(entry)
        return [f"`{span}`: {label} has no option {f}" for f in FLAG.findall(span) if f not in known]
    return check_path(span)


def check_path(token: str) -> list[str]:
    token = token.rstrip(".,;:")
    if not (token.startswith(REPO_DIRS) or token in TOP_FILES or re.fullmatch(r"[\w-]+\.(py|sh)", token)):
        return []
    if not re.fullmatch(r"[\w./*-]+", token) or re.search(r"[A-Z]{2,}[A-Z_]*(/|$)", token.split("/", 1)[-1]):
        return []  # a placeholder (<model>, SELECTION_DIR) or prose, not one path
    if "*" in token:
        return [] if list(ROOT.glob(token)) else [f"{token} matches no file"]
    return [] if (ROOT / token).exists() else [f"{token} does not exist"]


def _slug(heading: str) -> str:
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def check_links(doc: Path, text: str) -> list[str]:
    problems = []
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(#[^)\s]*)?\)", prose(text)):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path = (doc.parent / target) if target else doc
        if not path.exists():
            problems.append(f"the link {target} does not exist")
        elif anchor and path.suffix == ".md":
            slugs = {_slug(h) for h in re.findall(r"^#+\s+(.*)$", prose(path.read_text()), flags=re.M)}
            if anchor[1:] not in slugs:
                problems.append(f"the link {target}{anchor}: no heading '{anchor[1:]}' in {path.name}")
    return problems


def doc_problems(doc: Path, text: str, tmp: Path) -> list[str]:
    problems = check_links(doc, text)
    for block in fenced_blocks(text):
        if not block.lang:
            problems.append(f"line {block.line}: a fenced block without a language (bash, text, ...)")
        shell = block.lang in SHELL_LANGS
        if block.lang in ("bibtex", "yaml", "json"):
            continue
        for n, line in shell_lines(block):
            if not shell and line.split()[0] not in COMMAND_WORDS:
                continue  # a layout tree or output: only lines that start with a command are commands
            for p in check_command(line, tmp, shell=shell):
                problems.append(f"line {n}: {p}")
            if shell:
                for tok in shlex.split(line, comments=True)[1:]:
                    problems += [f"line {n}: {p}" for p in check_path(tok)]
    for span in inline_spans(text):
        problems += check_inline(span)
    return [f"{doc.relative_to(ROOT) if doc.is_relative_to(ROOT) else doc.name}: {p}" for p in problems]


# ------------------------------------------------------------------------------------------ the tests
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_documented_command_parses_and_every_path_exists(doc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative output paths of documented commands must not touch the repository
    problems = doc_problems(doc, doc.read_text(), tmp_path)
    assert not problems, "\n".join(problems)


def test_the_docs_have_commands_to_check():
    """The extraction finds the commands (a broken extractor would make every doc pass)."""
    lines = [line for doc in DOCS for b in fenced_blocks(doc.read_text()) if b.lang in SHELL_LANGS
             for _, line in shell_lines(b)]
    assert sum(line.startswith("python ") for line in lines) >= 30
    assert sum(line.startswith("ddcf ") for line in lines) >= 10
    assert any(line.startswith("make test") for line in lines)


def test_readme_links_every_docs_page_and_each_links_back():
    readme = (ROOT / "README.md").read_text()
    pages = sorted((ROOT / "docs").glob("*.md"))
    assert pages, "docs/ has no pages"
    assert [p.name for p in pages if f"](docs/{p.name}" not in readme] == []
    assert [p.name for p in pages if "](../README.md" not in p.read_text()] == []


def test_readme_keeps_the_quick_start_commands():
    """.ci/run runs the README's test command; both setup commands stay exactly these."""
    blocks = [b.text for b in fenced_blocks((ROOT / "README.md").read_text()) if b.lang in SHELL_LANGS]
    assert any(re.search(r"^make demo\b", t, flags=re.M) and re.search(r"^make test\b", t, flags=re.M)
               for t in blocks)
    assert re.search(r"^make test\b", (ROOT / ".ci/run").read_text(), flags=re.M)


def test_parse_catches_a_made_up_flag(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_command("python k_greedy_selection.py --model_name M --lamda 0.2 --num_select 1000", tmp_path) == []
    problems = check_command("python k_greedy_selection.py --model_name M --lamdaa 0.2", tmp_path)
    assert problems and "lamdaa" in problems[0]
    assert check_command("ddcf select --model_name M --method nosuchmethod", tmp_path)
    assert check_command("ddcf select --model_name M --num_select K", tmp_path)  # not an int
    assert check_command("ddcf nosuchcommand --x 1", tmp_path)
    assert check_command("python infer.py --completions x.parquet --no_such_flag", tmp_path)
    assert check_command("python -m ddcf.summary --no_such_flag", tmp_path)


def test_catches_scripts_targets_and_extras(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_command("python no_such_script.py", tmp_path)
    assert check_command("python benchmarks/bench_kgreedy.py --no_such_flag", tmp_path)
    assert check_command("bash train/run.sh M 0.2 1000", tmp_path) == []
    assert check_command("NO_SUCH_VARIABLE=1 bash train/run.sh M 0.2 1000", tmp_path)
    assert check_command("bash run_infer_all_models.sh --log_dir logs --backend hf", tmp_path) == []
    assert check_command("bash run_infer_all_models.sh --log_dir logs --no_such_flag", tmp_path)
    assert check_command("make no-such-target", tmp_path)
    assert check_command("make demo NO_SUCH_VAR=1", tmp_path)
    assert check_command('pip install -e ".[nosuchextra]"', tmp_path)
    assert check_command("accelerate launch --config_file train/accelerate/none.yaml train/sft.py", tmp_path)
    assert check_command("rm -rf DDCF_data", tmp_path)  # an unknown word in a shell block


def test_catches_inline_flags_paths_and_links(tmp_path):
    assert check_inline("ddcf score --name") == []
    assert check_inline("ddcf score --no_such_option")
    assert check_inline("infer.py --model_name M --no_such_option")
    assert check_inline("ddcf/no/such/module.py")
    assert check_inline("tests/no_such_test_*.py")
    assert check_inline("make no-such-target")
    doc = tmp_path / "page.md"
    text = "[x](no_such_page.md) and [y](#no-such-heading)\n\n# A heading\n"
    doc.write_text(text)
    assert len(check_links(doc, text)) == 2
    assert check_links(doc, "[y](#a-heading)\n\n# A heading\n") == []
    assert doc_problems(doc, "```\nmake test\n```\n", tmp_path)  # a block without a language
