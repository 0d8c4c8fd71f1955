"""What a release may be called: its name becomes a directory on every app host and is read back
from the hosts (`live`, `previous`, a rollback's target), so only a plain name is accepted either way."""

from __future__ import annotations

import re

RELEASE_NAME = re.compile(r"[A-Za-z0-9._-]+")


def release_name(name: str, where: str = "a release name") -> str:
    """`name` when it is a plain release name; a ValueError naming `where` it came from otherwise."""
    if not RELEASE_NAME.fullmatch(name) or name in {".", ".."}:
        raise ValueError(
            f"{where} {name!r} is not a release name (letters, digits, '.', '_' and '-' only): it is refused, not used"
        )
    return name
