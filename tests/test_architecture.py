"""The rooms of src/wattprint import one way (docs/architecture.md): a room imports only rooms of lower layers or
its own layer, the rooms form no cycle, and no module imports one that imports it back, directly or around a loop.

Every import counts, lazy ones inside functions included: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "wattprint"

# low to high; a room may import rooms of its own layer or below (docs/architecture.md says why each sits where)
LAYERS = [
    {"core"},
    {"meter", "carbon"},
    {"models", "workloads", "store"},
    {"tasks"},
    {"bench"},
    {"report", "cluster", "serve", "loadgen", "integrations"},
    {"cli"},
]
LAYER = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}
TOP = {"__init__", "__main__", "_version"}  # the package's face: may import any room; imports only _version


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The wattprint modules ``path`` imports (absolute and relative, at any depth)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "wattprint")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "wattprint":
                continue
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # `from pkg import module`
    return out


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path) if m in modules and m != name}
    return graph


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_room_has_a_layer():
    rooms = {p.name for p in SRC.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    assert rooms - set(LAYER) == set(), "add the new room to LAYERS here and to docs/architecture.md"
    assert {r for r in rooms if not (SRC / r / "__init__.py").exists()} == set(), "a room is a package: add __init__.py"


def test_rooms_import_only_downward():
    bad = []
    for mod, deps in _graph().items():
        room = _room(mod)
        for dep in deps:
            target = _room(dep)
            if room == target or target == "_version":
                continue
            if room in TOP or room.startswith("_"):
                continue
            if target in TOP or LAYER[target] > LAYER[room]:
                bad.append(f"{mod} -> {dep}")
    assert not bad, "imports against the order of docs/architecture.md:\n" + "\n".join(sorted(bad))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def _without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's __init__ that re-exports its own modules is not a cycle with them: edges from a package to
    its own submodules are dropped."""
    return {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}


def test_no_module_cycles():
    cycles = _cycles(_without_packages(_graph()))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_room_cycles():
    rooms: dict[str, set[str]] = {}
    for mod, deps in _graph().items():
        rooms.setdefault(_room(mod), set()).update(_room(d) for d in deps if _room(d) != _room(mod))
    rooms = {r: {d for d in ds if d not in TOP and d != "_version"} for r, ds in rooms.items() if r not in TOP}
    cycles = _cycles(rooms)
    assert not cycles, "rooms that import each other:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("source, expected", [
    ("from wattprint.store.record import RunRecord\n", {"wattprint.store.record", "wattprint.store.record.RunRecord"}),
    ("def f():\n    from wattprint.meter import sources\n", {"wattprint.meter", "wattprint.meter.sources"}),
    ("from . import specs\n", {"wattprint.workloads", "wattprint.workloads.specs"}),
    ("import os\nimport wattprint.core.errors\n", {"wattprint.core.errors"}),
])
def test_the_check_sees_every_kind_of_import(tmp_path, source, expected):
    pkg = tmp_path / "wattprint" / "workloads"
    pkg.mkdir(parents=True)
    (pkg / "hub.py").write_text(source)
    assert _imports_at(tmp_path / "wattprint", pkg / "hub.py") == expected


def _imports_at(src: Path, path: Path) -> set[str]:
    global SRC
    saved, SRC = SRC, src
    try:
        return _imports(path)
    finally:
        SRC = saved
