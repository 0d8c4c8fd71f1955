"""Random mutations of the example fleet, written out as a project `mastofleet check` reads.

The example fleet (inventories/hetzner.py with group_data/all.py and app.py) is held as one plain
document: its groups, its hosts' data and the two group_data files. A mutation removes a key, gives
a value the wrong type, puts a number out of range, or renames a key, a group or a host; the
mutated document is written as an inventory and group_data files, exactly what an operator edits.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

from fleet_builder import GROUPS, REPO, addresses, group_data
from hypothesis import strategies as st

Path_ = tuple[Any, ...]  # keys and indexes from the document's top
NAME = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)  # a name Python and pyinfra both take
TYPO_GROUPS = ["edges", "ap", "apps", "database", "Redis", "monitoring", "search", "standby", "lb2"]
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(min_value=-5, max_value=70000), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
)
OUT_OF_RANGE = st.one_of(
    st.sampled_from([-(2**31), -65536, -1, 0, 65535, 65536, 2**31, 2**53]),
    st.integers(min_value=-(2**40), max_value=2**40),
)


def example_document() -> dict[str, Any]:
    """The example fleet as one document: {"groups": {group: [host]}, "hosts": {host: data}, "all": ..., "app": ...}."""
    groups: dict[str, list[str]] = {}
    for host, host_groups in GROUPS.items():
        for group in host_groups:
            groups.setdefault(group, []).append(host)
    hosts = {
        name: {"private_address": values["private_address"], "public_address": values["public_address"]}
        for name, values in addresses().items()
        if name in GROUPS
    }
    return {"groups": groups, "hosts": hosts, "all": group_data("all"), "app": group_data("app")}


def paths(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path below the top of the document (the document's four parts themselves excluded)."""
    found: list[Path_] = [prefix] if len(prefix) > 1 else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def parent_of(document: dict[str, Any], path: Path_) -> Any:
    node: Any = document
    for key in path[:-1]:
        node = node[key]
    return node


def leaf(document: dict[str, Any], path: Path_) -> Any:
    return parent_of(document, path)[path[-1]]


@st.composite
def mutation(draw: st.DrawFn, document: dict[str, Any]) -> str:
    """Apply one random mutation to the document in place; return what it did (for the report)."""
    kind = draw(st.sampled_from(["remove", "retype", "out_of_range", "rename_key", "rename_group", "rename_host"]))
    everything = paths(document)
    if kind == "rename_group":
        return rename_group(draw, document)
    if kind == "rename_host":
        return rename_host(draw, document)
    numbers = [path for path in everything if type(leaf(document, path)) is int]
    if kind == "out_of_range" and numbers:
        path = draw(st.sampled_from(numbers))
        parent_of(document, path)[path[-1]] = draw(OUT_OF_RANGE)
        return f"out_of_range {path}"
    if not everything:
        return "nothing left to mutate"
    path = draw(st.sampled_from(everything))
    parent = parent_of(document, path)
    if kind in ("retype", "out_of_range"):
        parent[path[-1]] = draw(ANY_VALUE)
    elif kind == "remove":
        del parent[path[-1]]
    elif isinstance(parent, dict):  # rename_key
        parent[draw(NAME)] = parent.pop(path[-1])
    return f"{kind} {path}"


def rename_group(draw: st.DrawFn, document: dict[str, Any]) -> str:
    groups = document["groups"]
    old = draw(st.sampled_from(sorted(groups)))
    new = draw(st.one_of(st.sampled_from(TYPO_GROUPS), NAME))
    moved = groups.pop(old)
    target = groups.setdefault(new, [])
    if isinstance(moved, list) and isinstance(target, list):
        target.extend(moved)
    else:  # an earlier mutation made one of them something else than a list of hosts
        groups[new] = moved
    return f"rename_group {old} -> {new}"


def rename_host(draw: st.DrawFn, document: dict[str, Any]) -> str:
    """Rename a host everywhere, or only in its data or only in one group (a half-done rename)."""
    hosts = document["hosts"]
    old = draw(st.sampled_from(sorted(hosts)))
    new = draw(st.one_of(st.sampled_from(sorted(hosts)), NAME))
    where = draw(st.sampled_from(["everywhere", "data", "group"]))
    if where in ("everywhere", "data") and new not in hosts:
        hosts[new] = hosts.pop(old)
    if where in ("everywhere", "group"):
        for members in document["groups"].values():
            if isinstance(members, list):  # an earlier mutation may have made a group something else
                members[:] = [new if member == old else member for member in members]
    return f"rename_host {old} -> {new} ({where})"


def python_value(value: Any) -> str:
    """A value as Python source; through JSON, so NaN, infinities and odd strings survive."""
    return f"_loads({json.dumps(json.dumps(value))})"


def group_source(members: Any, hosts: Any) -> str:
    """A group as pyinfra reads it, `[("name", {data}), ...]`; a group or host data a mutation gave
    another type is written as that value, for pyinfra (and then the check) to refuse."""
    if not isinstance(members, list) or not isinstance(hosts, dict):
        return python_value(members)
    entries = [
        f"({name!r}, {python_value(hosts.get(name, {}))})" if isinstance(name, str) else python_value(name)
        for name in members
    ]
    return f"[{', '.join(entries)}]"


def write_project(root: Path, document: dict[str, Any]) -> Path:
    """Write the document as inventory.py and group_data/{all,app}.py under root (a new directory:
    Python's bytecode cache would take a file rewritten within the same second for the old one)."""
    (root / "group_data").mkdir(parents=True)
    header = "from json import loads as _loads\n"
    for part in ("all", "app"):
        lines = [f"{name} = {python_value(value)}\n" for name, value in document[part].items()]
        (root / "group_data" / f"{part}.py").write_text(header + "".join(lines))
    lines = [f"{group} = {group_source(members, document['hosts'])}\n" for group, members in document["groups"].items()]
    inventory = root / "inventory.py"
    inventory.write_text(header + "".join(lines))
    shutil.copytree(REPO / "secrets", root / "secrets")
    return inventory


def fresh_document() -> dict[str, Any]:
    return copy.deepcopy(_EXAMPLE)


_EXAMPLE = example_document()
