"""pydantic's field errors, said the operator's way: items of a list by their name, a fix per error.

pydantic locates an error by index (`sidekiq.3.queues`, `operators.0`) and says "Input should be ...";
an operator thinks of the Sidekiq process `ingress` or the operator `alice` and wants to know what
to write instead. Input values are never shown: they may be secrets written in the wrong place.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from mastofleet.model.problems import Problem


def closest(name: str, choices: Sequence[str]) -> str | None:
    """The valid name nearest to a mistyped one, if any is near enough."""
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """'; did you mean `x`?' when a valid name is near, else ''."""
    near = closest(name, choices)
    return f"; did you mean `{near}`?" if near else ""


def location(raw: Any, loc: Sequence[int | str]) -> str:
    """`sidekiq[ingress].queues` for pydantic's ('sidekiq', 3, 'queues'): a list item by its `name`."""
    text = ""
    value = raw
    for part in loc:
        if isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
            value = value[part]
            name = value.get("name") if isinstance(value, Mapping) else None
            text += f"[{name}]" if isinstance(name, str) and name else f"[{part}]"
            continue
        value = value.get(part) if isinstance(value, Mapping) else None
        text += f".{part}" if text else str(part)
    return text or "(section)"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `X | None`, `list[X]`, `dict[str, X]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType, list, dict, tuple):
        for argument in get_args(annotation):
            found = _model_of(argument)
            if found is not None:
                return found
    return None


def model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The section (model class) that holds the last part of `loc`."""
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            return model
        model = _model_of(field.annotation)
    return model


def _names_a_port(loc: Sequence[int | str]) -> bool:
    """Whether the field is a port (`port`, `ssh_port`) or an item of a list of ports."""
    names = [part for part in loc if isinstance(part, str)]
    return bool(names) and "port" in names[-1]


def _fix(item: ErrorDetails, field: str, root: type[BaseModel]) -> tuple[str, str]:
    """(what is wrong, what to do) for one pydantic error."""
    kind = item["type"]
    context = item.get("ctx") or {}
    if kind == "extra_forbidden":
        name = str(item["loc"][-1])
        section = model_at(root, item["loc"][:-1])
        choices = sorted(section.model_fields) if section is not None else []
        return (
            f"`{name}` is not a setting here{did_you_mean(name, choices)}",
            f"rename it to one of {', '.join(choices)}, or remove it" if choices else "remove it",
        )
    if kind == "missing":
        return "is required and not set", f"set {field}"
    if kind in ("greater_than_equal", "less_than_equal") and _names_a_port(item["loc"]):
        return "is not a port: a port is a number from 1 to 65535", f"set {field} to a free port from 1 to 65535"
    if kind in ("greater_than_equal", "greater_than"):
        return item["msg"].replace(
            "Input", "the value"
        ), f"set {field} to at least {context.get('ge', context.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return item["msg"].replace(
            "Input", "the value"
        ), f"set {field} to at most {context.get('le', context.get('lt'))}"
    if kind == "literal_error":
        return "is not one of the allowed values", f"set {field} to one of {context.get('expected')}"
    if kind == "too_short":
        return item["msg"].replace("List", "the list"), f"give {field} at least {context.get('min_length')} item(s)"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return item["msg"].replace("Input", "the value"), f"write {field} as the type the message names"
    if kind == "value_error":
        # our validators say "what is wrong; what to write instead": the second half is the fix
        message = str(item["msg"]).removeprefix("Value error, ")
        wrong, _, fix = message.rpartition("; ")
        return (wrong, fix) if wrong else (message, f"write {field} in the form the message names")
    return item["msg"], f"correct {field} in group_data or the inventory"


def problems_from_validation(
    where: str, error: ValidationError, raw: Mapping[str, Any], root: type[BaseModel]
) -> list[Problem]:
    """One Problem per pydantic error, located by name in `raw` (what was validated against `root`)."""
    problems = []
    for item in error.errors():
        field = location(raw, item["loc"])
        message, fix = _fix(item, field, root)
        problems.append(Problem(where, field, message, fix))
    return problems
