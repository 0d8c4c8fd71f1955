"""Hosts defined twice in an inventory file, found in its source (pyinfra would merge them).

pyinfra keys hosts by name: a copy-pasted `_hetzner.host("fritz", "10.0.1.5")` meant for franz makes
one host `fritz` with the second line's address, and franz silently disappears. Only the source
shows both lines, so the file is read with `ast`, never run.

A host is defined by a call whose first argument is its name (`_host("nixie")`,
`_hetzner.host("fritz", ...)`), a bare name in a group list, or a `(name, data)` tuple there. The same
host in several groups is normal (nixie is db, redis and lb); a definition is a duplicate when the
name comes twice in one group, is assigned twice, or is defined again with other arguments.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from mastofleet.model.problems import Problem


@dataclass(frozen=True)
class Definition:
    name: str
    line: int
    column: int
    arguments: str  # the rest of the call, as source: another address makes another host
    group: str | None  # the group list it stands in, if any
    assigned: bool  # `_fritz = ...host("fritz", ...)`


def _call_name(node: ast.expr) -> str | None:
    first = node.args[0] if isinstance(node, ast.Call) and node.args else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _definition(node: ast.expr, group: str | None, assigned: bool) -> Definition | None:
    name = _call_name(node)
    if name is not None and isinstance(node, ast.Call):
        rest = ast.unparse(ast.Call(func=ast.Name("f"), args=node.args[1:], keywords=node.keywords))
        return Definition(name, node.lineno, node.col_offset + 1, rest, group, assigned)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return Definition(node.value, node.lineno, node.col_offset + 1, "", group, assigned)
    first = node.elts[0] if isinstance(node, ast.Tuple) and node.elts else None
    if isinstance(node, ast.Tuple) and isinstance(first, ast.Constant) and isinstance(first.value, str):
        rest = ast.unparse(ast.Tuple(elts=node.elts[1:]))
        return Definition(first.value, node.lineno, node.col_offset + 1, rest, group, assigned)
    return None


def definitions(source: str) -> list[Definition]:
    """Every host definition at the top level of an inventory file's source."""
    found: list[Definition] = []
    for statement in ast.parse(source).body:
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        target = statement.targets[0]
        if not isinstance(target, ast.Name):
            continue
        value = statement.value
        if isinstance(value, (ast.List, ast.Tuple)) and not target.id.startswith("_"):
            for element in value.elts:
                definition = _definition(element, target.id, False)
                if definition is not None:
                    found.append(definition)
        elif isinstance(value, ast.Call):
            definition = _definition(value, None, True)
            if definition is not None:
                found.append(definition)
    return found


def _clash(first: Definition, second: Definition) -> bool:
    if first.name != second.name:
        return False
    same_group = first.group is not None and first.group == second.group
    return same_group or (first.assigned and second.assigned) or first.arguments != second.arguments


def duplicate_host_problems(path: str) -> list[Problem]:
    """A problem for each host defined twice in the inventory file at `path`, naming both lines."""
    try:
        found = definitions(Path(path).read_text())
    except (OSError, SyntaxError, ValueError):
        return []  # reading the inventory says what is wrong with such a file
    problems = []
    reported: set[str] = set()
    for index, first in enumerate(found):
        for second in found[index + 1 :]:
            if first.name in reported or not _clash(first, second):
                continue
            reported.add(first.name)
            problems.append(
                Problem(
                    "inventory",
                    f"host {first.name}",
                    f"`{first.name}` is defined twice in {Path(path).name}, at line {first.line} column "
                    f"{first.column} and at line {second.line} column {second.column}; pyinfra would merge "
                    "them into one host",
                    "give the copy its own host name (and address), or remove it",
                )
            )
    return problems
