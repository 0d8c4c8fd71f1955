"""Problems found in a fleet: each says where, which field, what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the fleet, phrased for the operator who has to fix it."""

    where: str
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message} -> {self.fix}"


class FleetError(Exception):
    """Raised when a fleet is not valid; carries every problem at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [f"the fleet has {len(problems)} problem(s):"]
        lines += [f"  - {problem}" for problem in problems]
        super().__init__("\n".join(lines))


class InventoryError(Exception):
    """Raised when an inventory cannot be read at all (missing file, Python error, ...)."""
