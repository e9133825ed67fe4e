"""The import graph of a package and its cycles, lazy and ``TYPE_CHECKING`` imports included (used by
tests/unit/test_import_cycles.py and tests/unit/test_engine_boundaries.py).

The checker parses every module under ``src/ponder`` and counts every ``import``
and ``from ... import`` statement anywhere in it (module level, inside functions,
under ``if TYPE_CHECKING:``). Edges, among ``ponder.*`` modules only:

* ``import ponder.a.b``: to ``ponder.a.b``;
* ``from ponder.a import name`` (or the relative form): to ``ponder.a.name`` when
  that is a module, else to ``ponder.a``, whose ``__init__`` must define ``name``.

Importing a submodule also runs its packages' ``__init__`` files, but that is
true of every import, so those implicit edges are not counted: a package
``__init__`` re-exporting its submodules is normal, and ``from .. import prompts``
needs only the ``prompts`` package. A submodule that imports a *name* from its own
package's ``__init__`` (which imports the submodule) is a genuine cycle and is
reported. A cycle is a strongly connected component of more than one module, or
a module importing itself.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from pathlib import Path


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package in directory ``root``, by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules that module ``name`` (in file ``path``) imports anywhere in its code."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level > len(package):
                    continue  # beyond the top-level package: not ours
                parts = package[: len(package) - node.level + 1]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in known else base)
    return targets & known.keys()


def graph(root: Path) -> dict[str, set[str]]:
    """The import graph of the package in ``root``: module -> the modules it imports."""
    known = modules(root)
    return {name: imports(name, path, known) for name, path in known.items()}


def components(edges: dict[str, set[str]]) -> Iterator[list[str]]:
    """The strongly connected components of ``edges`` (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(v: str) -> Iterator[list[str]]:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                yield from visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            yield sorted(component)

    for v in sorted(edges):
        if v not in index:
            yield from visit(v)


def loop_through(start: str, members: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path of imports from ``start`` back to itself, within ``members``."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(edges[v] & members):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if w not in came_from:
                came_from[w] = v
                queue.append(w)
    return [start]


def cycles(root: Path) -> list[list[str]]:
    """Each import cycle of the package in ``root``, as a path of imports back to its first module."""
    edges = graph(root)
    found = []
    for component in components(edges):
        if len(component) > 1 or component[0] in edges[component[0]]:
            found.append(loop_through(component[0], set(component), edges))
    return found
