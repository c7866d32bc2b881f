"""perflib's layout keeps the data's one road (../shared/ARCHITECTURE.md):

ingest/ → store.py → analysis/ → present/ → run/ → cli.py, with exceptions, schema, rules, files, memory and
pandas_speed as the ground floor and demo/ apart. Checked from the source (every import, those inside functions too):
no import circles, arrows only to the right, no private name imported across packages, no module over
700 lines, and the __init__ files that incremental runs rely on stay empty.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "perflib"
MAX_LINES = 700
GROUND = {"perflib", "perflib.exceptions", "perflib.schema", "perflib.rules", "perflib.files",
          "perflib.memory", "perflib.pandas_speed"}
# what each part may import besides itself: data flows ingest → store → analysis → present → run;
# ingest writes the store's tables (so it uses store's DDL), everything else reads upstream only
ALLOWED = {
    "ground": set(),
    "store": {"ground"},
    "ingest": {"ground", "store"},
    "analysis": {"ground", "store"},
    "present": {"ground", "store", "analysis"},
    "run": {"ground", "store", "analysis", "present"},
    "cli": {"ground", "store", "ingest", "analysis", "present", "run", "demo"},
    "demo": {"ground"},
}
DEMO_GROUND = {"perflib", "perflib.schema", "perflib.exceptions"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _resolve(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None]]:
    """(imported perflib module, imported name or None) for every import statement in a module
    (inside functions and under ``if TYPE_CHECKING:`` too: a lazy or annotation-only import is
    still a dependency)."""
    out = []
    pkg = _package_of(module, path)
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names if a.name.split(".")[0] == "perflib"]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, pkg)
            if target.split(".")[0] != "perflib":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub, None) if sub in modules else (target, a.name))
    return out


def _layer(module: str) -> str:
    if module in GROUND:
        return "ground"
    return module.split(".")[1]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: {t for t, _ in imports_of(m, p, modules) if t in modules and t != m} for m, p in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_arrows_point_one_way():
    wrong = []
    for module, targets in _graph().items():
        src = _layer(module)
        for target in targets:
            dst = _layer(target)
            ok = dst == src or dst in ALLOWED[src]
            if src == "demo" and dst == "ground":
                ok = target in DEMO_GROUND
            if not ok:
                wrong.append(f"{module} → {target}")
    assert wrong == []


def test_no_private_name_is_imported_across_packages():
    modules = _modules()
    borrowed = []
    for module, path in modules.items():
        pkg = _package_of(module, path)
        for target, name in imports_of(module, path, modules):
            leaf = name if name is not None else target.rsplit(".", 1)[-1]
            owner = target if name is not None else target.rsplit(".", 1)[0]
            if name is not None and target in modules and modules[target].name != "__init__.py":
                owner = target.rsplit(".", 1)[0]
            if leaf.startswith("_") and not leaf.startswith("__") and owner != pkg:
                borrowed.append(f"{module} imports {leaf} from {target}")
    assert borrowed == []


def test_no_module_is_over_700_lines():
    long = {m: n for m, p in _modules().items() if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize("init", ["analysis/__init__.py", "present/charts/__init__.py", "present/__init__.py",
                                  "run/__init__.py"])
def test_packages_that_notebooks_import_from_stay_empty(init):
    """Incremental runs hash the modules a notebook imports: a re-exporting __init__ would make every
    report depend on every module."""
    path = PACKAGE / init
    tree = ast.parse(path.read_text("utf-8")) if path.exists() else ast.Module(body=[], type_ignores=[])
    code = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    assert code == [], f"{init} should hold at most a docstring"


def test_the_checks_see_what_they_look_for(tmp_path):
    """The checks are not vacuous: a cycle, a wrong arrow and a borrowed private name are found."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _layer("perflib.analysis.cost") == "analysis" and "run" not in ALLOWED["present"]
    assert _layer("perflib.rules") == "ground" and _layer("perflib.store") == "store"
    fake = tmp_path / "perflib" / "analysis"
    fake.mkdir(parents=True)
    (fake / "x.py").write_text("from typing import TYPE_CHECKING\nfrom ..ingest.reader import _Reader\n"
                               "def f():\n    from .y import z\nif TYPE_CHECKING:\n    from .w import v\n", "utf-8")
    found = imports_of("perflib.analysis.x", fake / "x.py", {"perflib.ingest.reader": Path("reader.py")})
    assert ("perflib.ingest.reader", "_Reader") in found and ("perflib.analysis.y", "z") in found
    assert ("perflib.analysis.w", "v") in found  # annotation-only imports count too


MAX_FUNCTION_LINES = 80


def test_no_function_is_over_80_lines_without_saying_why():
    """A longer function states why in its docstring (a line starting with "Long:")."""
    long = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                reason = any(line.strip().startswith("Long:") for line in (ast.get_docstring(node) or "").splitlines())
                if lines > MAX_FUNCTION_LINES and not reason:
                    long.append(f"{module}.{node.name}: {lines} lines")
    assert long == []
