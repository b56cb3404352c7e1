"""Imports run down the data flow only, with no circles (DESIGN §7, docs/layers.md).

Every import counts, also one deferred into a function: hiding an upward import or a circle
there is what this test exists to stop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "zhijing"

# lowest first; a module may import its own layer and the layers below it (docs/layers.md)
LAYERS = [
    {"", "config", "errors", "localtime", "standards", "summary"},  # base
    {"access"},
    {"sources"},
    {"lake"},
    {"governance"},
    {"model"},
    {"serving"},
    {"entities"},
    {"derived"},
    {"cases"},
    {"api", "console", "cli", "pipeline", "demo", "__main__"},  # wiring: commands and the app
]
LAYER_OF = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _module_name(path: Path) -> str:
    parts = ["zhijing", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> list[tuple[str, int]]:
    """(imported zhijing module, line) for every import of the file, at any depth."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            # `from pkg import sub` imports the submodule; `from pkg import name` the package
            found += [(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base, node.lineno) for a in node.names]
    return [(target, line) for target, line in found if target == "zhijing" or target.startswith("zhijing.")]


EDGES = [(name, target, line) for name, path in MODULES.items() for target, line in _imports(name, path)]


def _layer(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    assert part in LAYER_OF, f"zhijing.{part} has no layer: add it to LAYERS and docs/layers.md"
    return LAYER_OF[part]


def test_every_package_has_a_layer():
    for name in MODULES:
        _layer(name)


def test_no_import_reaches_up():
    upward = [f"{source}:{line} imports {target}" for source, target, line in EDGES if _layer(target) > _layer(source)]
    assert not upward, "imports that reach a higher layer (docs/layers.md):\n" + "\n".join(sorted(set(upward)))


def test_no_import_circle():
    graph = nx.DiGraph((source, target) for source, target, _ in EDGES if source != target and target in MODULES)
    circles = sorted(" ↔ ".join(sorted(c)) for c in nx.strongly_connected_components(graph) if len(c) > 1)
    assert not circles, "import circles (docs/layers.md: move the shared piece down):\n" + "\n".join(circles)
