"""The package's shape, read from its source: the dependency direction of the architecture guide.

Every import counts, those inside functions included (they are how optrun keeps start-up fast, and
how a cycle hides). The layers, from the top (a module may import its own layer and those below):

    cli
    execution, compare, plot
    store, problem, config, sweep
    runner, backends, threads
    optimizers, objectives
    params, registry, text, signals, errors, datasets

``store`` imports only ``errors`` and its own modules; only ``cli`` imports click and rich; no
module imports or reads another module's private name; no two modules import each other, directly
or not (the lazy ``_LAZY`` tables of ``optrun`` and ``optrun.store`` count as imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "optrun"

LAYERS = (
    ("cli",),
    ("execution", "compare", "plot"),
    ("store", "problem", "config", "sweep"),
    ("runner", "backends", "threads"),
    ("optimizers", "objectives"),
    ("params", "registry", "text", "signals", "errors", "datasets"),
)
LEVEL = {part: i for i, parts in enumerate(LAYERS) for part in parts}
#: the lazy public API and the entry point sit above everything
TOP = {"optrun", "optrun.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def from_base(node: ast.ImportFrom, name: str) -> str:
    """The absolute module of ``from X import ...`` written in module ``name``."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    base = node.module or ""
    if node.level:
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    return base


def imports(name: str) -> list[tuple[str, list[str], int]]:
    """Each import of a module: (the module imported, the names taken from it, line)."""
    found = []
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((from_base(node, name), [a.name for a in node.names], node.lineno))
    return found


def owner(target: str, names: list[str]) -> list[str]:
    """The optrun modules an import reaches (``from optrun.store import read`` reaches store.read)."""
    reached = []
    for t in [target] + [f"{target}.{n}" for n in names]:
        while t and t not in MODULES:
            t = t.rpartition(".")[0]
        if t:
            reached.append(t)
    return reached


def part(module: str) -> str:
    """The layer key of a module: ``optrun.store.select`` -> ``store``."""
    return module.split(".")[1] if "." in module else module


def lazy_targets(name: str) -> set[str]:
    """The modules a package's ``_LAZY`` table names (imported on first attribute access)."""
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_LAZY" for t in node.targets):
            values = [v.value for v in node.value.values if isinstance(v, ast.Constant)]
            return {v if v.startswith("optrun") else f"{name}.{v}" for v in values}
    return set()


#: module -> the modules it imports; an import of a package a module lives in is left out (a
#: package's ``__init__`` re-exporting its submodules is not a cycle), except the top package
GRAPH = {
    m: {
        t
        for target, names, _ in imports(m)
        for t in owner(target, names)
        if t != m and (t == "optrun" or not m.startswith(t + "."))
    }
    | (lazy_targets(m) - {m})
    for m in MODULES
}


def test_every_module_has_a_layer():
    unplaced = sorted({part(m) for m in MODULES if m not in TOP and part(m) not in LEVEL})
    assert unplaced == [], "modules outside every layer (add them to LAYERS): " + ", ".join(unplaced)


def test_only_the_cli_imports_the_top_package():
    """``optrun/__init__.py`` is the lazy public API: importing it from below would hide an upward
    import (only ``__version__``, a constant, may be read from it)."""
    upward = [
        f"{m}:{line} imports {', '.join(names) or target}"
        for m in MODULES
        if m not in TOP and part(m) != "cli"
        for target, names, line in imports(m)
        if target == "optrun" and set(names) - {"__version__"}
    ]
    assert upward == []


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{m} imports {t} ({part(t)} is above {part(m)})"
        for m, targets in GRAPH.items()
        if m not in TOP and part(m) in LEVEL
        for t in targets
        if t not in TOP and part(t) in LEVEL and LEVEL[part(t)] < LEVEL[part(m)]
    ]
    assert upward == []


def test_store_imports_only_errors_and_itself():
    outside = [
        f"{m} imports {t}"
        for m, targets in GRAPH.items()
        if part(m) == "store"
        for t in targets
        if part(t) not in ("store", "errors")
    ]
    assert outside == []


def test_only_cli_imports_click_and_rich():
    ui = [
        f"{m}:{line} imports {target}"
        for m in MODULES
        if part(m) != "cli"
        for target, _, line in imports(m)
        if target.split(".")[0] in ("click", "rich")
    ]
    assert ui == []


def private_reads(name: str) -> list[ast.Attribute]:
    """``alias._name`` where ``alias`` is another optrun module this one imported."""
    aliases = {}
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.ImportFrom):
            target = from_base(node, name)
            for a in node.names:
                if f"{target}.{a.name}" in MODULES:
                    aliases[a.asname or a.name] = f"{target}.{a.name}"
        elif isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname and a.name in MODULES})
    return [
        node
        for node in ast.walk(ast.parse(MODULES[name].read_text()))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and aliases.get(node.value.id, name) != name
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    ]


def test_no_private_name_crosses_modules():
    private = [
        f"{m}:{line} imports {name} from {target}"
        for m in MODULES
        for target, names, line in imports(m)
        if target.startswith("optrun") and target != m
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    private += [
        f"{m}:{node.lineno} reads {node.value.id}.{node.attr}" for m in MODULES for node in private_reads(m)
    ]
    private += [
        f"{m}:{line} imports {target}"
        for m in MODULES
        for target, _, line in imports(m)
        if any(p.startswith("_") and not p.startswith("__") for p in target.split(".")[1:])
    ]
    assert private == []


def test_no_import_cycle():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            # a package's __init__ re-exporting its own submodules is no cycle
            if len(component) > 1 and not all(c.startswith(min(component)) for c in component):
                cycles.append(" <-> ".join(sorted(component)))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert cycles == []


@pytest.mark.parametrize("layer", sorted(LEVEL))
def test_layers_name_real_packages(layer):
    """A layer that names nothing is a typo that would let its modules through unchecked."""
    assert any(part(m) == layer for m in MODULES), f"no optrun module in layer {layer!r}"
