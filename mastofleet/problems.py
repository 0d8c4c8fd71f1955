"""Problems found in a fleet (the model's `Problem` and `FleetError`), and the error of an unreadable inventory."""

from __future__ import annotations

from mastofleet.model.problems import FleetError, Problem

__all__ = ["FleetError", "InventoryError", "Problem"]


class InventoryError(Exception):
    """Raised when an inventory cannot be read at all (missing file, Python error, ...)."""
