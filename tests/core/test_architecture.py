"""The import structure of ddcf/ (ARCHITECTURE.md): stages talk through artifacts and libraries, never through
another stage's ``stage.py``; no two ddcf modules import each other, not even through an import hidden in a
function body; imports of ddcf modules inside functions are few (each one hides a dependency from a reader of
the module's head).

Every module under ddcf/ is parsed with ``ast`` (nothing is imported, so the check is fast and cannot be fooled
by import-time side effects). Module-level and function-level imports both count, ``import x``,
``from x import y`` and relative imports alike. The allow-lists below are empty and must stay empty: fix the
import instead (move the shared code into a library module or ``ddcf/artifacts/``).
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (importer, imported) pairs tolerated for a while. Must stay empty (test_allow_lists_are_empty).
ALLOWED_STAGE_IMPORTS: frozenset[tuple[str, str]] = frozenset()
ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset()
# (file, deprecated module) pairs: code that imports an old module path (ddcf._deprecated). Must stay empty.
ALLOWED_SHIM_IMPORTS: frozenset[tuple[str, str]] = frozenset()
# The table of shims, and the one test that imports every shim on purpose (it checks each warns and re-exports).
SHIM_TABLE, SHIM_TEST = "ddcf/_deprecated.py", "tests/core/test_deprecated.py"

# Imports of ddcf modules inside function bodies. Lazy imports of heavy *third-party* packages (torch, vllm,
# trl, ...) are fine and not counted; an internal one is tolerated only where it keeps a light module light
# (`ddcf --help` must not import numpy/pandas: ddcf/config.py, ddcf/cli.py, ddcf/infer.py) or picks one of
# several optional code paths. The bound only goes down.
MAX_FUNCTION_LEVEL_INTERNAL_IMPORTS = 17


@dataclasses.dataclass(frozen=True)
class Import:
    importer: str  # dotted module name, e.g. ddcf.verify.grade
    imported: str  # the ddcf module it resolves to (the longest existing module prefix)
    line: int
    in_function: bool


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted name -> file for every module of a package tree (a package is named by its __init__.py)."""
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def collect_imports(modules: dict[str, Path], top: str = "ddcf") -> list[Import]:
    """Every import of a ``top`` module by a ``top`` module, at any depth of the syntax tree."""
    found: list[Import] = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

        def visit(node: ast.AST, in_function: bool, name=name, package=package) -> None:
            for child in ast.iter_child_nodes(node):
                targets: list[str] = []
                if isinstance(child, ast.Import):
                    targets = [alias.name for alias in child.names]
                elif isinstance(child, ast.ImportFrom):
                    if child.level:
                        base = package.split(".")
                        base = base[: len(base) - (child.level - 1)]
                        source = ".".join(base + ([child.module] if child.module else []))
                    else:
                        source = child.module or ""
                    # `from ddcf.verify import grade` imports the module ddcf.verify.grade; `from ddcf.io import
                    # atomic_dir` resolves to ddcf.io (the longest prefix that is a module).
                    targets = [f"{source}.{alias.name}" for alias in child.names]
                for target in targets:
                    if target == top or target.startswith(top + "."):
                        resolved = _resolve(target, modules)
                        if resolved is not None and resolved != name:
                            found.append(Import(name, resolved, child.lineno, in_function))
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

        visit(tree, False)
    return found


def stage_package(module: str) -> str:
    """ddcf.select.methods.ddcf -> select; a top-level module ddcf.infer is its own package 'infer'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def cross_stage_imports(imports: list[Import], modules: dict[str, Path]) -> list[Import]:
    stage_modules = {m for m in modules if m.endswith(".stage") and m.count(".") == 2}
    return [imp for imp in imports
            if imp.imported in stage_modules and stage_package(imp.importer) != stage_package(imp.imported)]


def _graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.importer, set()).add(imp.imported)
        graph.setdefault(imp.imported, set())
    return graph


def import_components(imports: list[Import]) -> list[set[str]]:
    """The strongly connected components with more than one module: each is one or more import cycles."""
    graph = _graph(imports)
    # Tarjan's algorithm, iterative (the graph has hundreds of modules).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return components


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """One cycle (a list of modules, first == last) per strongly connected component with more than one module."""
    graph = _graph(imports)
    cycles = []
    for component in import_components(imports):
        first = min(component)
        # Shortest path back to `first` inside the component (breadth first).
        previous = {first: None}
        queue = [first]
        closing = None
        while queue and closing is None:
            node = queue.pop(0)
            for child in sorted(graph[node] & component):
                if child == first:
                    closing = node
                    break
                if child not in previous:
                    previous[child] = node
                    queue.append(child)
        path = [first]
        node = closing
        while node is not None and node != first:
            path.append(node)
            node = previous[node]
        cycles.append([first] + path[1:][::-1] + [first])
    return cycles


def _describe(cycle: list[str], imports: list[Import]) -> str:
    steps = []
    for a, b in zip(cycle, cycle[1:]):
        where = [imp for imp in imports if imp.importer == a and imp.imported == b]
        lazy = all(imp.in_function for imp in where)
        steps.append(f"{a} -> {b} (line {where[0].line}{', in a function' if lazy else ''})")
    members = set(cycle)
    for component in import_components(imports):
        if members <= component:
            members = component
    hidden = sorted({f"{imp.importer}:{imp.line} -> {imp.imported}" for imp in imports
                     if imp.in_function and imp.importer in members and imp.imported in members})
    return ("; ".join(steps) + f"\n    all {len(members)} modules of this knot: {', '.join(sorted(members))}"
            + (f"\n    its imports inside functions: {'; '.join(hidden)}" if hidden else ""))


@pytest.fixture(scope="module")
def ddcf_imports():
    modules = module_names(ROOT / "ddcf")
    return modules, collect_imports(modules)


def test_allow_lists_are_empty():
    assert not ALLOWED_STAGE_IMPORTS and not ALLOWED_CYCLES and not ALLOWED_SHIM_IMPORTS


def test_no_stage_imports_another_stages_stage_module(ddcf_imports):
    modules, imports = ddcf_imports
    bad = [imp for imp in cross_stage_imports(imports, modules)
           if (imp.importer, imp.imported) not in ALLOWED_STAGE_IMPORTS]
    assert not bad, "a stage imports another stage's stage.py (import the artifact or library module instead):\n" + \
        "\n".join(f"  {imp.importer} line {imp.line} imports {imp.imported}" for imp in bad)


def test_no_import_cycles_counting_function_level_imports(ddcf_imports):
    _, imports = ddcf_imports
    cycles = [c for c in import_cycles(imports) if frozenset(c) not in ALLOWED_CYCLES]
    assert not cycles, "import cycles between ddcf modules (break them by moving the shared code):\n" + \
        "\n".join("  " + _describe(c, imports) for c in cycles)


def package_imports(imports: list[Import]) -> list[Import]:
    """The imports between ddcf's subpackages (ddcf.verify.stage -> ddcf.data.bundled is verify -> data)."""
    return [dataclasses.replace(imp, importer=stage_package(imp.importer), imported=stage_package(imp.imported))
            for imp in imports if stage_package(imp.importer) != stage_package(imp.imported)]


def test_no_import_cycles_between_packages(ddcf_imports):
    """Two packages that import each other (even through different modules) are one package in disguise: the
    shared code belongs in a library module or in ddcf/artifacts/."""
    _, imports = ddcf_imports
    between = package_imports(imports)
    knots = [c for c in import_components(between) if frozenset(c) not in ALLOWED_CYCLES]
    lines = []
    for knot in knots:
        lines.append(f"  packages {', '.join(sorted(knot))}:")
        lines += sorted({f"    {imp.importer} line {imp.line} imports {imp.imported}"
                         f"{' (in a function)' if imp.in_function else ''}" for imp in imports
                         if stage_package(imp.importer) in knot and stage_package(imp.imported) in knot
                         and stage_package(imp.importer) != stage_package(imp.imported)})
    assert not knots, "ddcf packages that import each other:\n" + "\n".join(lines)


def test_few_internal_imports_inside_functions(ddcf_imports):
    _, imports = ddcf_imports
    statements = sorted({(imp.importer, imp.line) for imp in imports if imp.in_function})
    print(f"\n{len(statements)} imports of ddcf modules inside function bodies "
          f"(bound {MAX_FUNCTION_LEVEL_INTERNAL_IMPORTS}):")
    for importer, line in statements:
        print(f"  {importer}:{line}")
    assert len(statements) <= MAX_FUNCTION_LEVEL_INTERNAL_IMPORTS, (
        f"{len(statements)} imports of ddcf modules inside functions, more than "
        f"{MAX_FUNCTION_LEVEL_INTERNAL_IMPORTS}: move them to the module head (a cycle that forces one is a design "
        "error to fix, not to hide)")


# ---- the checks themselves can fail: a tiny package with each violation


def _write(root: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return module_names(root / "ddcf")


def test_checks_find_a_cycle_hidden_in_a_function_and_a_cross_stage_import(tmp_path):
    modules = _write(tmp_path, {
        "ddcf/__init__.py": "",
        "ddcf/a/__init__.py": "",
        "ddcf/a/stage.py": "from . import lib\n",
        "ddcf/a/lib.py": "def f():\n    from ddcf.b.tool import g\n",
        "ddcf/b/__init__.py": "",
        "ddcf/b/stage.py": "",
        "ddcf/b/tool.py": "import numpy\nfrom ..a import stage\nfrom ddcf.b import stage as own\n",
    })
    imports = collect_imports(modules)
    assert {(i.importer, i.imported, i.in_function) for i in imports} == {
        ("ddcf.a.stage", "ddcf.a.lib", False), ("ddcf.a.lib", "ddcf.b.tool", True),
        ("ddcf.b.tool", "ddcf.a.stage", False), ("ddcf.b.tool", "ddcf.b.stage", False)}
    assert [(i.importer, i.imported) for i in cross_stage_imports(imports, modules)] == [
        ("ddcf.b.tool", "ddcf.a.stage")]
    assert import_cycles(imports) == [["ddcf.a.lib", "ddcf.b.tool", "ddcf.a.stage", "ddcf.a.lib"]]
    assert "in a function" in _describe(import_cycles(imports)[0], imports)
    assert import_components(package_imports(imports)) == [{"a", "b"}]


def test_checks_pass_a_clean_package(tmp_path):
    modules = _write(tmp_path, {
        "ddcf/__init__.py": "",
        "ddcf/a/__init__.py": "",
        "ddcf/a/stage.py": "from ddcf.lib import f\n",
        "ddcf/lib.py": "def f():\n    import torch\n",
    })
    imports = collect_imports(modules)
    assert not cross_stage_imports(imports, modules) and not import_cycles(imports)
    assert not import_components(package_imports(imports))
    assert not [i for i in imports if i.in_function]


# ---- old module paths (ddcf/_deprecated.py): kept for users, used by nobody here


def _deprecated_prefix(name: str, deprecated) -> str | None:
    """The deprecated module that importing ``name`` runs (``ddcf.data.bundled.x`` runs ``ddcf.data``)."""
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        if ".".join(parts[:end]) in deprecated:
            return ".".join(parts[:end])
    return None


def shim_imports(path: Path, deprecated, package: str = "") -> list[tuple[int, str]]:
    """(line, deprecated module) for every import of an old module path in one file: import statements at any
    depth, relative ones resolved against ``package``, and strings that are a bare dotted path
    (``importlib.import_module(...)``, ``monkeypatch.setattr("ddcf.generate.backends.X", ...)``, ``mock.patch``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            names = [f"{source}.{alias.name}" for alias in node.names]
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("ddcf.")
              and node.value.replace(".", "").replace("_", "").isalnum()):
            names = [node.value]
        for name in names:
            hit = _deprecated_prefix(name, deprecated)
            if hit is not None:
                found.append((node.lineno, hit))
    return sorted(found)


def _code_files() -> list[tuple[Path, str]]:
    """(file, its package for relative imports): ddcf/, tests/, benchmarks/, scripts/, train/, top-level *.py."""
    files = [(p, "") for p in sorted(ROOT.glob("*.py"))]
    for folder in ("ddcf", "tests", "benchmarks", "scripts", "train"):
        for p in sorted((ROOT / folder).rglob("*.py")):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            package = ".".join(parts if parts[-1] == "__init__" else parts[:-1]).removesuffix(".__init__")
            files.append((p, package if folder == "ddcf" else ""))
    return files


def test_no_code_imports_a_deprecated_module_path():
    from ddcf._deprecated import DEPRECATED_MODULES

    shims = {ROOT / (name.replace(".", "/") + ".py") for name in DEPRECATED_MODULES} | \
        {ROOT / name.replace(".", "/") / "__init__.py" for name in DEPRECATED_MODULES}
    bad = []
    for path, package in _code_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel in (SHIM_TABLE, SHIM_TEST) or path in shims:
            continue
        for line, module in shim_imports(path, DEPRECATED_MODULES, package):
            if (rel, module) not in ALLOWED_SHIM_IMPORTS:
                bad.append(f"  {rel} line {line} imports {module} (use {DEPRECATED_MODULES[module][0]})")
    assert not bad, "code imports an old module path kept only for users (ddcf/_deprecated.py):\n" + "\n".join(bad)


def test_shim_check_finds_every_form(tmp_path):
    code = tmp_path / "x.py"
    code.write_text("import ddcf.old.sub\nfrom ddcf import old\nfrom ddcf.old import f\nfrom ddcf.new import g\n"
                    "def t(monkeypatch):\n    from .. import old\n    monkeypatch.setattr('ddcf.old.sub.h', 1)\n"
                    "    x = 'ddcf.old is mentioned in prose.'\n", encoding="utf-8")
    assert shim_imports(code, {"ddcf.old": ("ddcf.new", "")}, package="ddcf.pkg") == [
        (1, "ddcf.old"), (2, "ddcf.old"), (3, "ddcf.old"), (6, "ddcf.old"), (7, "ddcf.old")]
