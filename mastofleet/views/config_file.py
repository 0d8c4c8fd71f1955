"""A file the deploy puts on a host, and the secret values its template reads.

Roles build these; `mastofleet.plan.files.host_files` gathers every role's for a host (the registry says
which roles a host has), so the deploy and `mastofleet render` write the same list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mastofleet.model import Fleet, Host


@dataclass(frozen=True)
class ConfigFile:
    """One rendered file and who owns it on the host."""

    path: str
    content: str
    mode: str = "644"
    user: str = "root"
    group: str = "root"
    sensitive: bool = False  # holds a secret: never diffed, never logged, mode 0600/0640
    check: str | None = None  # a command that must accept the file before it is put in place ({path})


class SecretValues(Mapping[str, str]):
    """Secret values for templates: the real ones at deploy time, placeholders for review."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})
        self.masked = values is None

    def __getitem__(self, name: str) -> str:
        if self.masked:
            return f"<secret:{name}>"
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


RoleFiles = Callable[["Fleet", "Host", SecretValues], list[ConfigFile]]
