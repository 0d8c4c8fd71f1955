"""The package's layers (pyproject.toml's import-linter contracts) hold, the whole package has no
import cycle, not even through an import inside a function, and no module is over 500 lines."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from import_graph import MODULES, PACKAGE, cycles, graph

REPO = PACKAGE.parent
LONGEST = 500


def layers_contract() -> dict:
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    return next(contract for contract in contracts if contract["name"] == "The layers of the package")


def test_the_import_contracts_hold() -> None:
    """Checked by import-linter itself (scripts/test's lint step runs it too)."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_no_import_cycle_in_the_package() -> None:
    assert cycles(graph()) == []


def test_every_module_of_the_package_is_in_a_layer() -> None:
    """A new top-level module or package is placed in a layer, or it would escape the contract."""
    named = {name.strip() for line in layers_contract()["layers"] for name in line.split(":")}
    top = {".".join(name.split(".")[:2]) for name in MODULES} - {"mastofleet"}
    assert top == named, (top - named, named - top)


def test_no_module_is_over_500_lines() -> None:
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > LONGEST}
    assert not long, long
