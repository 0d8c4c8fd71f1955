"""Render the project's jinja2 templates (`templates/`), strictly: an unknown name is an error."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIRECTORY = Path(__file__).resolve().parent.parent / "templates"


@cache
def environment() -> jinja2.Environment:
    loaded = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIRECTORY),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    # A double-quoted string for YAML files, escaped like JSON (tojson also escapes <, > and &).
    loaded.filters["quoted"] = lambda value: json.dumps(str(value))
    return loaded


def render(template: str, **context: Any) -> str:
    """Render `templates/<template>` with the given names."""
    return environment().get_template(template).render(**context)
