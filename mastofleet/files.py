"""Files the deploy puts on hosts, rendered from the fleet in one place.

Each role module has a `files(fleet, host, secrets)` function; the deploy uploads what it returns and
`mastofleet render` writes the same list to disk with the secrets masked, so a review shows exactly
what a deploy would change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


class SecretValues(Mapping[str, str]):
    """Secret values for templates: the real ones at deploy time, placeholders for review."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})
        self.masked = values is None

    def __getitem__(self, name: str) -> str:
        if self.masked:
            return f"<secret:{name}>"
        return self._values[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


RoleFiles = Callable[["Fleet", "Host", SecretValues], list[ConfigFile]]


def host_files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    """Every file the deploy writes on `host`, in role order."""
    from mastofleet.deploys import ROLE_FILES

    rendered: list[ConfigFile] = []
    for applies, files in ROLE_FILES:
        if applies(fleet, host):
            rendered.extend(files(fleet, host, secrets))
    return rendered
