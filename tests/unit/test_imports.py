"""The import graph of evalray/: no cycles, no upward imports, test doubles kept apart (docs/architecture.md).

Every ``import`` / ``from ... import`` in every module under evalray/ counts — module level, inside functions, under
``if TYPE_CHECKING:``, relative or absolute — and so does ``importlib.import_module("literal")``: an import that only
runs later is still a dependency, and a cycle through it is still a cycle. The graph's nodes are modules (an import
of a name from a package goes to the submodule when one of that name exists).

Layers, lowest first. A module may import its own package and the packages of lower layers, never a higher one:

0. ``evalray`` (the version), ``errors``, ``types``, ``rows``, ``runtime`` — shared vocabulary, no evalray imports
   beyond this layer;
1. ``job`` — the job file schema of every kind (eval, perf) and its loader;
2. ``scoring`` — answer extraction, metrics, the sandbox;
3. ``benchmarks`` — datasets and prompts (use job specs and scoring);
4. ``models`` — backends (hf, openai, replay, vllm, serve);
5. ``serving`` — hosting models on Ray Serve (wraps the model backends);
6. ``results`` — result documents, writers, reports;
7. ``loadgen`` — the load generator and the perf job runner (writes its report through results);
8. ``pipeline`` — the eval job runner (Ray Data over benchmarks x models, results at the end);
9. ``dashboard`` — browsing finished runs;
10. ``testing`` — test doubles (mock and fake OpenAI servers); only the ``mock-server`` command imports it;
11. ``cluster`` — Ray Jobs submission, KubeRay manifests;
12. ``cli`` — the commands.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "evalray"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("", "errors", "types", "rows", "runtime"),
    ("job",),
    ("scoring",),
    ("benchmarks",),
    ("models",),
    ("serving",),
    ("results",),
    ("loadgen",),
    ("pipeline",),
    ("dashboard",),
    ("testing",),
    ("cluster",),
    ("cli",),
)
# Within layer 0 the order matters too: a module may import only those before it.
FOUNDATION = LAYERS[0]

# Known exceptions, each owned elsewhere, as (importing module, imported module). An entry that no longer exists
# fails the test, so these lists only ever shrink (the two the issue named, job.spec -> benchmarks.registry and
# models.openai_backend -> pipeline.stages, are gone already).
KNOWN_UPWARD: dict[tuple[str, str], str] = {}
# Imports left out of the cycle search; the cycle they close is still a cycle.
KNOWN_CYCLE_EDGES: dict[tuple[str, str], str] = {}

# The product never imports the test doubles, except the command that serves the mock server; and the test doubles
# import from the product only what they need.
TESTING_IMPORTERS = {"evalray.cli.perf_commands"}
TESTING_NEEDS = {"evalray.loadgen.eventloop"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def module_names(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under ``package`` (packages by their __init__.py)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` (a module or a name inside one) lives in."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(node: ast.AST, package: str) -> list[str]:
    """Dotted names an import node (or ``importlib.import_module("...")`` call) brings in."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1])
            module = f"{base}.{node.module}" if node.module else base
        else:
            module = node.module or ""
        return [f"{module}.{alias.name}" for alias in node.names]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
            return [node.args[0].value]
    return []


def import_edges(package: Path) -> tuple[dict[str, Path], list[Edge]]:
    """Every import between modules of ``package``, wherever in the file it is."""
    modules = module_names(package)
    edges = []
    for name, path in modules.items():
        own_package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for imported in _imported_names(node, own_package):
                target = _resolve(imported, modules) if imported.split(".")[0] == package.name else None
                if target is not None and target != name:
                    edges.append(Edge(name, target, node.lineno))
    return modules, edges


def find_cycles(nodes: list[str], edges: list[Edge]) -> list[list[str]]:
    """One cycle (as a closed path a -> ... -> a) per strongly connected component with more than one module."""
    graph: dict[str, list[str]] = {n: [] for n in nodes}
    for edge in edges:
        graph[edge.source].append(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan; evalray's graph is shallow enough for recursion
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_closed_path(component, graph) for component in components]


def _closed_path(component: list[str], graph: dict[str, list[str]]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in graph[node]:
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, node, start]
                if nxt in members and nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return component


def package_of(module: str) -> str:
    """The layer key of a module: its first package below evalray ('' for evalray/__init__.py)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def rank(package: str) -> tuple[int, int]:
    for layer, members in enumerate(LAYERS):
        if package in members:
            return layer, (members.index(package) if layer == 0 else 0)
    raise KeyError(package)


def upward(edges: list[Edge]) -> list[Edge]:
    """Imports of a package from a higher layer (or, in layer 0, of a later module)."""
    found = []
    for edge in edges:
        source, target = package_of(edge.source), package_of(edge.target)
        if source != target and rank(target) > rank(source):
            found.append(edge)
    return found


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Edge]]:
    return import_edges(PACKAGE)


def _where(edge: Edge, modules: dict[str, Path]) -> str:
    return f"{modules[edge.source].relative_to(ROOT)}:{edge.line} imports {edge.target}"


def test_every_package_has_a_layer(graph):
    modules, _ = graph
    unplaced = sorted({package_of(m) for m in modules} - {p for layer in LAYERS for p in layer})
    assert not unplaced, f"put these in LAYERS (tests/unit/test_imports.py and docs/architecture.md): {unplaced}"


def test_no_import_cycle(graph):
    modules, edges = graph
    cycles = find_cycles(list(modules), [e for e in edges if (e.source, e.target) not in KNOWN_CYCLE_EDGES])
    assert not cycles, "import cycles:\n" + "\n".join("  " + " -> ".join(cycle) for cycle in cycles)
    stale = sorted(set(KNOWN_CYCLE_EDGES) - {(e.source, e.target) for e in edges})
    assert not stale, f"these KNOWN_CYCLE_EDGES are gone; remove them: {stale}"


def test_no_upward_import(graph):
    modules, edges = graph
    found = upward(edges)
    new = [e for e in found if (e.source, e.target) not in KNOWN_UPWARD]
    assert not new, "upward imports (see the layers in this file's docstring):\n" + "\n".join(
        f"  {_where(e, modules)} ({package_of(e.source) or 'evalray'} -> {package_of(e.target)})" for e in new)
    stale = sorted(set(KNOWN_UPWARD) - {(e.source, e.target) for e in found})
    assert not stale, f"these KNOWN_UPWARD entries are gone; remove them: {stale}"


def test_test_doubles_stay_apart(graph):
    modules, edges = graph
    into = [e for e in edges if package_of(e.target) == "testing" and package_of(e.source) != "testing"
            and e.source not in TESTING_IMPORTERS]
    assert not into, "only the mock-server command may import evalray.testing:\n" + "\n".join(
        "  " + _where(e, modules) for e in into)
    out = [e for e in edges if package_of(e.source) == "testing" and package_of(e.target) != "testing"
           and e.target not in TESTING_NEEDS]
    assert not out, "evalray.testing imports from the product beyond TESTING_NEEDS:\n" + "\n".join(
        "  " + _where(e, modules) for e in out)


def test_the_checker_sees_hidden_cycles_and_upward_imports(tmp_path):
    """A cycle made only of a function-level import, a TYPE_CHECKING import and a relative import is found, and so
    is an upward import through ``importlib.import_module``."""
    package = tmp_path / "evalray"
    (package / "job").mkdir(parents=True)
    (package / "cli").mkdir()
    for path in (package / "__init__.py", package / "job" / "__init__.py", package / "cli" / "__init__.py"):
        path.write_text("", encoding="utf-8")
    (package / "job" / "a.py").write_text("def f():\n    from evalray.job import b\n", encoding="utf-8")
    (package / "job" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\n", encoding="utf-8")
    (package / "job" / "c.py").write_text(
        "import importlib\nfrom . import a\nC = importlib.import_module('evalray.cli.main')\n", encoding="utf-8")
    (package / "cli" / "main.py").write_text("", encoding="utf-8")
    modules, edges = import_edges(package)
    assert find_cycles(list(modules), edges) == [["evalray.job.a", "evalray.job.b", "evalray.job.c", "evalray.job.a"]]
    assert [(e.source, e.target) for e in upward(edges)] == [("evalray.job.c", "evalray.cli.main")]
