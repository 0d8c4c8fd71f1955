"""scripts/test collects tests/unit, tests/infra and tests/fleet in one pytest run, and tests/vagrant
after them. Their folders are not packages, so pytest imports each test module by its file name
alone: two modules of the same name stop the whole run at collection ("import file mismatch") and no
test runs at all."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
COLLECTED = ("unit", "infra", "fleet", "vagrant")


def test_no_two_test_modules_share_a_name() -> None:
    places: dict[str, list[str]] = defaultdict(list)
    for folder in COLLECTED:
        for path in (TESTS / folder).rglob("*.py"):
            if path.name != "conftest.py":
                places[path.name].append(str(path.relative_to(TESTS)))
    clashes = {name: paths for name, paths in places.items() if len(paths) > 1}
    assert not clashes, f"rename one of each (the role's testinfra file keeps test_<role>.py): {clashes}"
