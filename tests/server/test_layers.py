"""The server's layers point one way (DESIGN.md): edge -> services (training, models) -> stores,
with what the edge and the training service share (recipes) below the edge.

Read from the source with `ast`, imports inside functions and under TYPE_CHECKING included, and
followed transitively, so a service reaching the edge through a shared module is caught too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import gatelearn.server

PACKAGE = "gatelearn.server"
ROOT = Path(gatelearn.server.__file__).parent


def _modules() -> dict[str, Path]:
    """Every module of gatelearn.server by its dotted name (a package by its __init__)."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join((PACKAGE, *parts))] = path
    return found


MODULES = _modules()


def _imported(name: str, path: Path) -> Iterator[str]:
    """The gatelearn.server modules `name` imports: for `from X import y`, X.y when it is a
    module, else X."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        yield from (target for target in targets if target in MODULES)


IMPORTS = {name: set(_imported(name, path)) for name, path in MODULES.items()}


def _reached(start: str) -> dict[str, str]:
    """Every module `start` imports directly or through others, each with the module that
    imports it on the first path found."""
    via: dict[str, str] = {}
    todo = [start]
    while todo:
        current = todo.pop()
        for target in IMPORTS[current]:
            if target != start and target not in via:
                via[target] = current
                todo.append(target)
    return via


def _chain(start: str, end: str, via: dict[str, str]) -> str:
    steps = [end]
    while steps[-1] != start:
        steps.append(via[steps[-1]])
    return " -> ".join(reversed(steps))


def _inside(name: str, layer: str) -> bool:
    return name == f"{PACKAGE}.{layer}" or name.startswith(f"{PACKAGE}.{layer}.")


def _crossings(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    """The import chains by which a module of `layer` reaches one of the `forbidden` layers."""
    starts = [name for name in MODULES if _inside(name, layer)]
    assert starts, f"no modules found under {PACKAGE}.{layer}"
    return [
        _chain(start, target, via)
        for start in sorted(starts)
        for via in [_reached(start)]
        for target in sorted(via)
        if any(_inside(target, above) for above in forbidden)
    ]


@pytest.mark.parametrize("layer", ["training", "models", "stores", "recipes"])
def test_only_the_edge_imports_the_edge(layer: str) -> None:
    assert _crossings(layer, ("edge",)) == []


def test_stores_import_no_service() -> None:
    assert _crossings("stores", ("training", "models")) == []


def test_the_walk_sees_the_edge_calling_the_services() -> None:
    """The checks above can fail: the servicer's own imports are found, through to stores."""
    via = _reached(f"{PACKAGE}.edge.servicer")
    assert {f"{PACKAGE}.training.service", f"{PACKAGE}.models.service"} <= set(via)
    assert f"{PACKAGE}.stores.base" in via
