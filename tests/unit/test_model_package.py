"""The model is a package of its own layer: pure pydantic, no import cycles, one list of rules.

Imports are read from the source (`ast`), inside functions and under TYPE_CHECKING too, so a late
import cannot hide a cycle. `from a.b import c` counts as importing `a.b.c` when that is a module,
else `a.b`; importing a submodule is not counted as importing its parent package's `__init__`.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from mastofleet import model
from mastofleet.model import RULES
from mastofleet.model.rules.environment import environment_keys_known
from mastofleet.model.rules.redis import redis_problems
from mastofleet.model.rules.search import search_problems

PACKAGE = Path(model.__file__).resolve().parents[1]  # mastofleet/
MODEL = "mastofleet.model"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(name: str) -> Iterator[str]:
    """Every module `name` imports, anywhere in its file."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def graph() -> dict[str, set[str]]:
    return {name: {target for target in imported(name) if target in MODULES} for name in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, or of one importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges)))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def model_modules() -> list[str]:
    return sorted(name for name in MODULES if name == MODEL or name.startswith(MODEL + "."))


def test_the_model_imports_only_itself_pydantic_and_the_standard_library() -> None:
    allowed_outside = {"pydantic", *sys.stdlib_module_names}
    wrong = {
        (name, target)
        for name in model_modules()
        for target in imported(name)
        if not target.startswith(MODEL + ".") and target.split(".")[0] not in allowed_outside
    }
    assert not wrong, f"the model imports another layer: {sorted(wrong)}"


def test_the_model_never_imports_its_own_package_init() -> None:
    """Submodules import each other directly, so `mastofleet.model`'s re-exports cannot close a cycle."""
    wrong = [name for name in model_modules() if MODEL in set(imported(name))]
    assert not wrong


def test_no_import_cycle_within_or_into_the_model() -> None:
    touching = [component for component in cycles(graph()) if any(name in model_modules() for name in component)]
    assert touching == []


def test_no_model_module_is_over_500_lines() -> None:
    long = {name: n for name in model_modules() if (n := len(MODULES[name].read_text().splitlines())) > 500}
    assert not long


def test_every_rule_check_runs_is_in_the_one_list() -> None:
    assert {redis_problems, search_problems, environment_keys_known} <= set(RULES)
    assert len(set(RULES)) == len(RULES)
