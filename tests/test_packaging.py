"""pyproject.toml is the source of truth for dependencies; environment.yml must name the same ones."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge spells a few packages differently from PyPI.
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = list(data["project"]["dependencies"])
    for extra in data["project"].get("optional-dependencies", {}).values():
        reqs += extra
    return {_name(r): r.replace(" ", "") for r in reqs}


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    out = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            name = CONDA_TO_PYPI.get(_name(item), _name(item))
            if name in ("python", "pip"):
                continue
            spec = item.replace(" ", "")
            out[name] = name + spec[len(_name(item)):]
    return out


def test_environment_names_the_same_dependencies_as_pyproject():
    py, env = _pyproject(), _environment()
    assert sorted(py) == sorted(env), (
        f"only in pyproject: {sorted(set(py) - set(env))}; only in environment.yml: {sorted(set(env) - set(py))}"
    )


def test_environment_uses_the_same_version_bounds():
    py, env = _pyproject(), _environment()
    differing = {n: (py[n], env[n]) for n in py if n in env and py[n].lower() != env[n].lower()}
    assert not differing, differing


def test_python_version_agrees():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    py = next(d for d in env["dependencies"] if isinstance(d, str) and _name(d) == "python")
    assert py.replace("python", "") == data["project"]["requires-python"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme
    assert re.search(r"^make test$", ci, re.M), "the CI script must call exactly the README's test command"


# --- every import declared, every declaration imported -------------------------------------------
# Declared for what they run, not for an import: jupyterlab is the analyst's editor (README),
# ipykernel the kernel every report runs in (started by name, imported only by tests), pip by make,
# pytest-xdist the plugin `make test` runs the suite with (`-n 2`: CI has two cores).
TOOLS = {"jupyterlab", "ipykernel", "pytest-xdist"}


def _sources(*folders: str) -> list[Path]:
    out = []
    for folder in folders:
        out += [p for p in (ROOT / folder).rglob("*.py") if "data" not in p.relative_to(ROOT).parts]
    return out


def _notebook_code() -> list[str]:
    import json

    return ["".join(c["source"]) for nb in sorted((ROOT / "notebooks").glob("*.ipynb"))
            for c in json.loads(nb.read_text("utf-8"))["cells"] if c["cell_type"] == "code"]


def _top_imports(texts: list[str]) -> set[str]:
    import ast
    import sys

    found = set()
    for text in texts:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    local = ({"perflib", "conftest", "make_bad_inputs"} | {p.stem for p in _sources("tests")}
             | {p.stem for p in (Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py")})
    return {m for m in found if m not in sys.stdlib_module_names and m not in local}


def _distributions(modules: set[str]) -> dict[str, set[str]]:
    from importlib.metadata import packages_distributions

    dists = packages_distributions()
    return {m: {_name(d) for d in dists.get(m, [])} for m in modules}


def _declared(*extras: str) -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = list(data["project"]["dependencies"])
    for extra in extras:
        reqs += data["project"]["optional-dependencies"][extra]
    return {_name(r) for r in reqs}


def test_everything_perflib_and_the_notebooks_import_is_a_declared_dependency():
    texts = [p.read_text("utf-8") for p in _sources("perflib")] + _notebook_code()
    declared = _declared("dask")  # perflib.run.dask imports distributed only when --dask is given
    missing = {m: d for m, d in _distributions(_top_imports(texts)).items() if not d & declared}
    assert not missing, f"imported but not in [project.dependencies]: {missing}"


def test_everything_tests_and_benchmarks_import_is_declared_for_them():
    texts = [p.read_text("utf-8") for p in _sources("tests", "benchmarks")]
    declared = _declared("test", "dask", "bench")
    missing = {m: d for m, d in _distributions(_top_imports(texts)).items() if not d & declared}
    assert not missing, f"imported by tests/benchmarks but not declared: {missing}"


def test_no_declared_dependency_goes_unimported():
    texts = ([p.read_text("utf-8") for p in _sources("perflib", "tests", "benchmarks")] + _notebook_code())
    import re

    # scripts that tests run in a subprocess are strings: count their import lines too
    in_strings = {m for text in texts for m in re.findall(r"^\s*(?:import|from) ([A-Za-z_]\w*)", text, re.M)}
    used = set().union(*_distributions(_top_imports(texts) | in_strings).values())
    unused = _declared("test", "dask", "bench") - used - TOOLS
    assert not unused, f"declared but imported nowhere (remove, or use where they serve): {sorted(unused)}"


def test_the_import_check_sees_a_missing_declaration():
    assert _distributions({"yaml"})["yaml"] == {"pyyaml"}
    assert "pandera" not in _declared("test", "dask", "bench")
    assert _top_imports(["import json\nimport numpy.linalg\nfrom yaml import safe_load\nfrom . import x"]) == {
        "numpy", "yaml"}

