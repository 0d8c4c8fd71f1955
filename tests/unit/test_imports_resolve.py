"""Every `from mastofleet... import` and `from support... import` in the repository names a module and a
name that exist. mypy checks the package with missing imports ignored (for untyped dependencies), and
the fleet tests are collected only in the fleet tier: a module moved without its importers would
otherwise be found there, after the fleet's half hour, or by an operator's deploy.py."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
CHECKED = ("mastofleet", "tests", "bench", "inventories", "group_data")
OURS = ("mastofleet", "support")


def sources() -> list[Path]:
    files = [REPOSITORY / "deploy.py", REPOSITORY / "config.py"]
    for folder in CHECKED:
        files += sorted((REPOSITORY / folder).rglob("*.py"))
    return [path for path in files if ".venv" not in path.parts]


def imports(path: Path) -> list[tuple[str, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] in OURS:
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name.split(".")[0] in OURS]
    return found


@pytest.mark.parametrize("path", sources(), ids=lambda path: str(path.relative_to(REPOSITORY)))
def test_every_import_of_ours_resolves(path: Path) -> None:
    missing = []
    for module_name, name in imports(path):
        if importlib.util.find_spec(module_name) is None:
            missing.append(module_name)
            continue
        if name and name != "*":
            module = importlib.import_module(module_name)
            if not hasattr(module, name) and importlib.util.find_spec(f"{module_name}.{name}") is None:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"{path.name} imports what does not exist: {missing}"
