"""The base of every section of the model."""

from __future__ import annotations

from ipaddress import IPv4Address

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base of every section: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def is_address(text: str) -> bool:
    """Whether `text` is an IPv4 address (an endpoint given by address, not by name)."""
    try:
        IPv4Address(text)
    except ValueError:
        return False
    return True
