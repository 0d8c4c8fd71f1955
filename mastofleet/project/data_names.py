"""The names of group_data: a model section's name, or `section.field` for one of its fields.

Each layer of an inventory's data (group `all`, the host's other groups, the host, `--data`) may
set a whole section (`postgres = {...}`) or one field (`--data instance.version=v4.6.6`). The
`instance` section is merged field by field across layers, so a group can change one field of it
(the local fleet's `instance = {"source": ...}`) and keep the rest; every other section set in a
higher layer replaces the lower one whole.

Names from before the model's paths (`code_source`, `install`, `mastodon_version`) are read for
one more release, each with a deprecation message naming the old name, the new one and the layer.
`fleet_name` stays: it is the model's `name`, which pyinfra reserves as the name of an operation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Old name -> the model path it sets; read until the release after the one that deprecated them.
RENAMED: dict[str, str] = {
    "code_source": "instance.source",
    "install": "instance.install",
    "mastodon_version": "instance.version",
}
MERGED_SECTIONS = frozenset({"instance"})


@dataclass(frozen=True)
class Deprecation:
    """An old group_data name found in one layer of the data."""

    old: str
    new: str
    where: str

    def __str__(self) -> str:
        return (
            f"deprecated: {self.where} sets `{self.old}`; write `{self.new}` instead "
            f"(`{self.old}` is still read in this release, not in the next)"
        )


def merged_data(layers: Iterable[tuple[str, Mapping[str, Any]]]) -> tuple[dict[str, Any], list[Deprecation]]:
    """The data of `(where, data)` layers, lowest priority first, as model paths; and the old names met."""
    merged: dict[str, Any] = {}
    deprecations: list[Deprecation] = []
    for where, data in layers:
        paths: list[tuple[str, Any]] = []
        for key, value in data.items():
            if key in RENAMED:
                deprecations.append(Deprecation(key, RENAMED[key], where))
                paths.append((RENAMED[key], value))
            elif "." in key:
                paths.append((key, value))
            else:
                _set_section(merged, key, value)
        # A field outranks its whole section within one layer (as code_source outranked instance.source).
        for path, value in paths:
            _set_field(merged, path, value)
    return merged, deprecations


def _set_section(merged: dict[str, Any], key: str, value: Any) -> None:
    earlier = merged.get(key)
    if key in MERGED_SECTIONS and isinstance(earlier, Mapping) and isinstance(value, Mapping):
        merged[key] = {**earlier, **value}
    else:
        merged[key] = value


def _set_field(merged: dict[str, Any], path: str, value: Any) -> None:
    section, field = path.split(".", 1)
    earlier = merged.get(section)
    if isinstance(earlier, Mapping):  # else the section is missing, and validation says so
        merged[section] = {**earlier, field: value}


_printed: set[str] = set()


def print_deprecations(deprecations: Iterable[Deprecation]) -> None:
    """Each message once per run on stderr (a deploy reads the fleet once per host): a warning, not an error."""
    for deprecation in deprecations:
        message = f"mastofleet: {deprecation}"
        if message not in _printed:
            _printed.add(message)
            print(message, file=sys.stderr)
