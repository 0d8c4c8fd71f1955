"""Render the fleet's jinja2 templates, strictly: an unknown name is an error.

A template is looked up in the operator's project first (`<project>/templates/<name>`) and in the
templates that ship with mastofleet second, so a project overrides one file by holding its own copy
under the same name (docs/templates.md). The project is the directory the fleet was loaded from
(`use_project`, called when a fleet is built from an inventory); until then, the current directory.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

_PACKAGE = Path(__file__).resolve().parents[1]  # mastofleet/


def shipped_templates() -> Path:
    """The templates that come with mastofleet.

    In an installed wheel they are the package data `mastofleet/templates`, built from the
    repository's top-level templates/; running from a source checkout (an editable install),
    they are that templates/ itself.
    """
    installed = _PACKAGE / "templates"
    return installed if installed.is_dir() else _PACKAGE.parent / "templates"


TEMPLATE_DIRECTORY = shipped_templates()


# The project whose templates/ comes first; None until a fleet is loaded (until then: the cwd).
_project: Path | None = None


def use_project(directory: str | Path) -> None:
    """Look templates up in `directory/templates` before the shipped ones from now on."""
    global _project
    _project = Path(directory).resolve()


def current_project() -> Path:
    return _project or Path.cwd().resolve()


def search_path(project: Path) -> list[Path]:
    """The template directories in lookup order: the project's, then the shipped ones.

    In mastofleet's own checkout the two are one directory, listed once.
    """
    directories: list[Path] = []
    for directory in (project / "templates", TEMPLATE_DIRECTORY):
        if directory.resolve() not in directories:
            directories.append(directory.resolve())
    return directories


@cache
def environment(project: Path) -> jinja2.Environment:
    loaded = jinja2.Environment(
        # a missing directory (a project without templates/) is skipped by the loader
        loader=jinja2.FileSystemLoader([str(directory) for directory in search_path(project)]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    # A double-quoted string for YAML files, escaped like JSON (tojson also escapes <, > and &).
    loaded.filters["quoted"] = lambda value: json.dumps(str(value))
    return loaded


def _not_found(template: str, project: Path) -> jinja2.TemplateNotFound:
    searched = ", ".join(str(directory) for directory in search_path(project))
    return jinja2.TemplateNotFound(template, f"template {template!r} is in none of: {searched}")


def render(template: str, **context: Any) -> str:
    """Render the template named `template` (a path under templates/) with the given names."""
    project = current_project()
    try:
        return environment(project).get_template(template).render(**context)
    except jinja2.TemplateNotFound as error:
        # jinja names only the template; say where it was looked for (an include's name, maybe)
        raise _not_found(str(error.name or template), project) from None
