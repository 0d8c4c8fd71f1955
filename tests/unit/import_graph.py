"""The import graph of the mastofleet package, read from its source with `ast`: every `import`,
at module level or inside a function, a TYPE_CHECKING block included. Run it to list the cycles:

    python tests/unit/import_graph.py [--root PACKAGE_DIRECTORY] [PREFIX ...]

(with prefixes, only cycles among modules whose names start with one of them).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mastofleet"


def module_names(root: Path = PACKAGE) -> dict[str, Path]:
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def imported(name: str, path: Path) -> Iterator[str]:
    """Every name module `name` (at `path`) imports, anywhere in its file, relative imports resolved:
    `from a.b import c` gives `a.b.c` (a module or not) and `a.b`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package's modules it imports (a submodule's import runs its packages too)."""
    names = module_names(root)
    known = set(names)
    edges: dict[str, set[str]] = {}
    for name, path in names.items():
        targets: set[str] = set()
        for target in set(imported(name, path)) & known:
            parts = target.split(".")
            targets |= {".".join(parts[:end]) for end in range(1, len(parts) + 1)} & known
        edges[name] = targets - {name} - _parents(name)
    return edges


def _parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts))}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def within(edges: dict[str, set[str]], prefixes: tuple[str, ...]) -> dict[str, set[str]]:
    """The graph among modules whose names start with one of `prefixes`."""
    inside = {name for name in edges if name.startswith(prefixes)}
    return {name: edges[name] & inside for name in inside}


if __name__ == "__main__":
    arguments = sys.argv[1:]
    root = PACKAGE
    if arguments[:1] == ["--root"]:
        root, arguments = Path(arguments[1]), arguments[2:]
    edges = graph(root)
    if arguments:
        edges = within(edges, tuple(arguments))
    found = cycles(edges)
    for component in found:
        print(f"cycle of {len(component)} modules: {' '.join(component)}")
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} imports, {len(found)} cycles")
