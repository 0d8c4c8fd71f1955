"""What `status` and `doctor` share: a report on the live fleet, printed, and exit 1 when it finds a problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mastofleet.model import Fleet

Report = Callable[["Fleet", Any], tuple[str, bool]]


def print_report(inventory: str, report: Report) -> int:
    """Load the fleet from `inventory`, print `report(fleet, inventory)`, exit 0 only when it is healthy."""
    from mastofleet.project.fleet import load_fleet

    fleet, loaded = load_fleet(inventory)
    text, healthy = report(fleet, loaded)
    print(text)
    return 0 if healthy else 1
