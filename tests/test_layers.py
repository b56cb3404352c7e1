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
    {"cases", "command", "force", "sharing", "public"},
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
    unplaced = sorted({n.split(".")[1] for n in MODULES if "." in n} - set(LAYER_OF))
    assert not unplaced, f"packages without a layer (add them to LAYERS and docs/layers.md): {unplaced}"


def test_no_import_reaches_up():
    upward = [f"{source}:{line} imports {target}" for source, target, line in EDGES if _layer(target) > _layer(source)]
    assert not upward, "imports that reach a higher layer (docs/layers.md):\n" + "\n".join(sorted(set(upward)))


def test_no_import_circle():
    graph = nx.DiGraph((source, target) for source, target, _ in EDGES if source != target and target in MODULES)
    circles = sorted(" ↔ ".join(sorted(c)) for c in nx.strongly_connected_components(graph) if len(c) > 1)
    assert not circles, "import circles (docs/layers.md: move the shared piece down):\n" + "\n".join(circles)


def _defined(path: Path) -> set[str]:
    """Names a module defines or imports at its top level (also under if / try)."""
    names: set[str] = set()
    stack = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If | ast.Try | ast.With):
            stack += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                      *(s for h in getattr(node, "handlers", []) for s in h.body)]  # fmt: skip
    return names


def test_every_imported_name_exists():
    """A function that moved down (or up to the wiring) leaves no caller behind — in the
    package, the tests or the benchmarks, also in an import deferred into a function that no
    test may reach."""
    root = PACKAGE.parent
    scanned = {**MODULES, **{str(p.relative_to(root)): p for folder in ("tests", "bench") for p in sorted((root / folder).rglob("*.py"))}}
    missing = []
    for name, path in scanned.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module in MODULES:
                defined = _defined(MODULES[node.module])
                missing += [f"{name}:{node.lineno} imports {a.name} from {node.module}" for a in node.names
                            if a.name != "*" and a.name not in defined and f"{node.module}.{a.name}" not in MODULES]  # fmt: skip
            elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("zhijing."):
                missing.append(f"{name}:{node.lineno} imports from {node.module}, which does not exist")
            elif isinstance(node, ast.Import):
                missing += [f"{name}:{node.lineno} imports {a.name}" for a in node.names
                            if a.name.startswith("zhijing.") and a.name not in MODULES]  # fmt: skip
    assert not missing, "imports of names that do not exist:\n" + "\n".join(missing)
