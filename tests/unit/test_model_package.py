"""The model is a package of its own layer: pure pydantic, no import cycles, one list of rules.

Imports are read from the source (`ast`, by tests/unit/import_graph.py), inside functions and under
TYPE_CHECKING too, so a late import cannot hide a cycle.
"""

from __future__ import annotations

import sys

from import_graph import MODULES, cycles, graph, imported

from mastofleet.model import RULES
from mastofleet.model.rules.environment import environment_keys_known
from mastofleet.model.rules.redis import redis_problems
from mastofleet.model.rules.search import search_problems

MODEL = "mastofleet.model"


def model_modules() -> list[str]:
    return sorted(name for name in MODULES if name == MODEL or name.startswith(MODEL + "."))


def test_the_model_imports_only_itself_pydantic_and_the_standard_library() -> None:
    allowed_outside = {"pydantic", *sys.stdlib_module_names}
    wrong = {
        (name, target)
        for name in model_modules()
        for target in imported(name, MODULES[name])
        if not target.startswith(MODEL + ".") and target.split(".")[0] not in allowed_outside
    }
    assert not wrong, f"the model imports another layer: {sorted(wrong)}"


def test_the_model_never_imports_its_own_package_init() -> None:
    """Submodules import each other directly, so `mastofleet.model`'s re-exports cannot close a cycle."""
    wrong = [name for name in model_modules() if MODEL in set(imported(name, MODULES[name]))]
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
