"""Where a template comes from: the operator's project first, the templates shipped with mastofleet
second (docs/templates.md), and the project being the directory the fleet was loaded from."""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import pytest
from fleet_builder import REPO, build

from mastofleet.model import Role
from mastofleet.plan.render import render_fleet
from mastofleet.project.fleet import load_fleet
from mastofleet.views import templating

JOURNALD = "base/journald.conf.j2"


@pytest.fixture(autouse=True)
def _project_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test chooses its project; the one set before it comes back afterwards."""
    monkeypatch.setattr(templating, "_project", None)


def _override(project: Path, template: str, text: str) -> None:
    path = project / "templates" / template
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_shipped_templates_are_the_checkouts_when_running_from_it() -> None:
    assert templating.TEMPLATE_DIRECTORY == REPO / "templates"


def test_the_project_comes_before_the_shipped_templates(tmp_path: Path) -> None:
    assert templating.search_path(tmp_path) == [tmp_path.resolve() / "templates", REPO / "templates"]


def test_in_mastofleets_own_checkout_the_two_are_one_directory() -> None:
    assert templating.search_path(REPO) == [REPO / "templates"]


def test_a_project_overrides_one_template_and_keeps_the_others(tmp_path: Path) -> None:
    _override(tmp_path, JOURNALD, "[Journal]\nStorage=volatile\n")
    templating.use_project(tmp_path)
    assert templating.render(JOURNALD) == "[Journal]\nStorage=volatile\n"
    assert templating.render("base/locale.j2", locale="C.UTF-8") == "LANG=C.UTF-8\n"  # the shipped one


def test_an_include_is_looked_up_the_same_way(fleet_data, tmp_path: Path) -> None:
    """Overriding the sandbox block changes every unit that includes it, and only those files."""
    fleet = build(*fleet_data)
    render_fleet(fleet, tmp_path / "shipped")
    _override(tmp_path / "project", "systemd/sandbox.conf.j2", "# the project's sandbox\n")
    templating.use_project(tmp_path / "project")
    render_fleet(fleet, tmp_path / "overridden")

    app = fleet.with_role(Role.app)[0].name
    unit = Path(app, "etc/systemd/system/mastodon-web.service")
    assert "# the project's sandbox\n" in (tmp_path / "overridden" / unit).read_text()
    assert "# the project's sandbox\n" not in (tmp_path / "shipped" / unit).read_text()
    changed = {
        path.relative_to(tmp_path / "overridden")
        for path in (tmp_path / "overridden").rglob("*")
        if path.is_file() and path.read_bytes() != (tmp_path / "shipped" / path.relative_to(tmp_path / "overridden")).read_bytes()
    }
    assert unit in changed
    assert all(path.name.endswith(".service") for path in changed)


def test_a_missing_template_names_the_directories_searched(tmp_path: Path) -> None:
    templating.use_project(tmp_path)
    with pytest.raises(jinja2.TemplateNotFound) as raised:
        templating.render("base/no-such.conf.j2")
    assert str(raised.value) == (
        f"template 'base/no-such.conf.j2' is in none of: {tmp_path.resolve() / 'templates'}, {REPO / 'templates'}"
    )


def test_without_a_loaded_fleet_the_project_is_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert templating.current_project() == tmp_path.resolve()


def test_loading_a_fleet_makes_its_project_the_one_whose_templates_come_first(tmp_path: Path, monkeypatch) -> None:
    """The project is found as for group_data/: the nearest directory above the inventory holding it."""
    for part in ("inventories", "group_data", "secrets"):
        shutil.copytree(REPO / part, tmp_path / part)
    monkeypatch.setenv("MASTOFLEET_HETZNER_OFFLINE", "1")
    monkeypatch.chdir(REPO / "tests")  # somewhere else: the inventory's place decides, not the cwd
    load_fleet(str(tmp_path / "inventories" / "hetzner.py"))
    assert templating.current_project() == tmp_path.resolve()
