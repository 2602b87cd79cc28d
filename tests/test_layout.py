"""The house in layers (docs/design.md, "Layout"): read from the source alone.

* imports only go down the layers, and never in a cycle;
* each third-party binding is imported by exactly one module;
* no private name is imported from another module;
* no function over 150 lines, no file over 600 lines, no checker file over 500 lines,
  at most 8 modules directly in ``symbolic/``;
* the wheel's package list is exactly the folders that hold an ``__init__.py``.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

TOOLKIT = ("symbolic", "smt", "lp", "proofs", "rewardcert")

LAYERS = {
    "rewardcert.symbolic.core": 0,
    "rewardcert.symbolic.exact": 1,
    "rewardcert.symbolic.guidance": 2,
    "rewardcert.symbolic.search": 3,
    "rewardcert.symbolic.rigorous": 3,
    "rewardcert.symbolic.regularised": 4,
    "rewardcert.symbolic.optimisers": 5,
    "rewardcert.symbolic.paper": 6,
    "rewardcert.lp": 7,
    "rewardcert.smt": 7,
    "rewardcert": 8,
}
"""A module may import its own layer's package and any lower layer; two packages of one rank
(search and rigorous, lp and smt) do not import each other.  ``rewardcert.proofs`` imports nothing
of the toolkit (tests/test_checker.py)."""

BINDINGS = {
    "z3": "smt/z3_backend.py",
    "pulp": "lp/pulp_backend.py",
    "highspy": "symbolic/guidance/highs.py",
    "numba": "symbolic/guidance/jitkernels.py",
    "flint.arb": "symbolic/rigorous/enclosures.py",
    "matplotlib": None,
    "gymnasium": "rewardcert/importers/gym_import.py",
    "stormpy": "rewardcert/importers/prism_import.py",
    "dask": None,
}
"""The one module allowed to import each binding (None: the binding is imported nowhere, or by one
module of any name; the test then only checks there is at most one)."""


def modules() -> dict[str, Path]:
    """Dotted name (under ``rewardcert``) of every toolkit module."""
    out = {}
    for top in TOOLKIT:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "instances" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[0] != "rewardcert":
                parts = ["rewardcert", *parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = modules()


def package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def imports(name: str, path: Path):
    """``(target module, imported names, line)`` of every import in the module, lazy ones included,
    resolved to dotted names; ``imported names`` is empty for ``import X``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = package_of(name, path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield target, tuple(a.name for a in node.names), node.lineno


def toolkit_target(target: str, names) -> list[str]:
    """The toolkit modules an import reaches: ``from package import module`` reaches the module
    (its package's ``__init__`` too, unless every name imported is a submodule)."""
    submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
    found = list(submodules)
    if target in MODULES and (not names or len(submodules) < len(names)):
        found.append(target)
    return found


def layer(name: str) -> str:
    return max((p for p in LAYERS if name == p or name.startswith(p + ".")), key=len)


def test_imports_only_go_down_the_layers():
    wrong = []
    for name, path in MODULES.items():
        if name.startswith("rewardcert.proofs") or name == "rewardcert.symbolic":
            continue
        here = layer(name)
        for target, names, line in imports(name, path):
            for reached in toolkit_target(target, names):
                if reached == "rewardcert" or reached.startswith("rewardcert.proofs"):
                    continue            # the package's own lazy API, the standalone checker
                there = layer(reached)
                if there == here:
                    continue
                if LAYERS[there] >= LAYERS[here]:
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: {here} imports {reached} ({there})")
    assert not wrong, "\n".join(wrong)


def test_symbolic_package_imports_nothing():
    assert not list(imports("rewardcert.symbolic", ROOT / "symbolic" / "__init__.py"))


def test_no_import_cycles():
    graph = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, names, _ in imports(name, path):
            for reached in toolkit_target(target, names):
                if reached != name and reached != "rewardcert":
                    graph[name].add(reached)
    # Tarjan's strongly connected components, iteratively
    index, low, on, stack, cycles, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    assert not cycles, cycles


def _binding_importers(binding: str) -> set[str]:
    found = set()
    top, _, leaf = binding.partition(".")
    for name, path in MODULES.items():
        for target, names, _ in imports(name, path):
            if leaf:
                if (target == top and leaf in names) or target == binding or target.startswith(binding + "."):
                    found.add(str(path.relative_to(ROOT)))
            elif target == top or target.startswith(top + "."):
                found.add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("binding", sorted(BINDINGS))
def test_each_binding_is_imported_by_one_module(binding):
    importers = _binding_importers(binding)
    assert len(importers) <= 1, (binding, sorted(importers))
    if BINDINGS[binding] is not None:
        assert importers == {BINDINGS[binding]}, (binding, sorted(importers))


def test_no_private_name_is_imported_from_another_module():
    wrong = []
    for name, path in MODULES.items():
        for target, names, line in imports(name, path):
            if not target or not (target == "rewardcert" or target.startswith("rewardcert.")):
                continue
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: imports {n} from {target}")
    assert not wrong, "\n".join(wrong)


def test_functions_and_files_stay_short():
    long_functions, long_files = [], []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        limit = 500 if name.startswith("rewardcert.proofs") else 600
        if lines > limit:
            long_files.append(f"{path.relative_to(ROOT)}: {lines} lines (limit {limit})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > 150:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {size} lines")
    assert not long_functions and not long_files, "\n".join(long_functions + long_files)


def test_symbolic_keeps_at_most_eight_modules_at_its_top():
    top = sorted(p.name for p in (ROOT / "symbolic").glob("*.py"))
    assert len(top) <= 8, top


def test_the_wheel_lists_exactly_the_packages_of_the_tree():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert listed == on_disk
    assert config["package-dir"] == {f"rewardcert.{top}": top for top in ("symbolic", "smt", "lp", "proofs")}
    assert not any(p.split(".")[0] != "rewardcert" for p in listed)
