"""group_data names are model paths; the names of older releases are read for one more, with a warning.

The warning names the old name, the new one and where the old one was found, goes to stderr, and
never refuses the fleet.
"""

from __future__ import annotations

import pytest
from fleet_builder import REPO, build

from mastofleet import commands
from mastofleet.local.machines import STATE_DIRECTORY_VARIABLE
from mastofleet.project import data_names
from mastofleet.project.data_names import Deprecation, merged_data
from mastofleet.project.fleet import VERSION_OVERRIDE, load_fleet

INVENTORY = str(REPO / "inventories" / "hetzner.py")
SOURCE = {"git_url": "https://example.org/mastodon.git", "ref": "main"}


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each message is printed once per run; every test here starts a run of its own."""
    monkeypatch.setattr(data_names, "_printed", set())


def test_the_message_names_the_old_name_the_new_one_and_where() -> None:
    deprecation = Deprecation("code_source", "instance.source", "the data of group 'local'")
    assert str(deprecation) == (
        "deprecated: the data of group 'local' sets `code_source`; write `instance.source` instead "
        "(`code_source` is still read in this release, not in the next)"
    )


def test_every_old_name_is_found_in_its_layer() -> None:
    layers = [
        ("group all", {"instance": {"local_domain": "a.example"}, "code_source": SOURCE}),
        ("group local", {"install": {"ruby": "rbenv"}}),
        ("--data", {"mastodon_version": "v4.6.6"}),
    ]
    merged, deprecations = merged_data(layers)
    assert merged["instance"] == {
        "local_domain": "a.example",
        "source": SOURCE,
        "install": {"ruby": "rbenv"},
        "version": "v4.6.6",
    }
    assert deprecations == [
        Deprecation("code_source", "instance.source", "group all"),
        Deprecation("install", "instance.install", "group local"),
        Deprecation("mastodon_version", "instance.version", "--data"),
    ]


def test_a_group_changes_one_field_of_the_instance_and_keeps_the_rest() -> None:
    layers = [
        ("group all", {"instance": {"local_domain": "a.example", "version": "v4.6.5"}}),
        ("group local", {"instance": {"source": SOURCE}}),
    ]
    merged, deprecations = merged_data(layers)
    assert merged["instance"] == {"local_domain": "a.example", "version": "v4.6.5", "source": SOURCE}
    assert deprecations == []


def test_other_sections_are_replaced_whole_as_before() -> None:
    layers = [("group all", {"tls": {"mode": "files", "key": "/k"}}), ("group local", {"tls": {"mode": "self-signed"}})]
    assert merged_data(layers)[0]["tls"] == {"mode": "self-signed"}


def test_the_old_names_build_the_same_fleet_with_a_warning(fleet_data, capsys) -> None:  # type: ignore[no-untyped-def]
    hosts, common = fleet_data
    new = build(hosts, common)
    instance = common["instance"]
    common["code_source"], common["install"] = instance.pop("source"), instance.pop("install")
    old = build(hosts, common)
    assert old == new
    warnings = capsys.readouterr().err.splitlines()
    assert warnings == [
        "mastofleet: deprecated: group_data sets `code_source`; write `instance.source` instead "
        "(`code_source` is still read in this release, not in the next)",
        "mastofleet: deprecated: group_data sets `install`; write `instance.install` instead "
        "(`install` is still read in this release, not in the next)",
    ]


def test_an_old_name_in_data_overrides_is_read_and_warned_about(capsys) -> None:  # type: ignore[no-untyped-def]
    fleet, _ = load_fleet(INVENTORY, {"mastodon_version": "v4.6.6", "code_source": SOURCE})
    assert fleet.instance.version == "v4.6.6"
    assert fleet.instance.source.ref == "main"
    assert capsys.readouterr().err.splitlines() == [
        "mastofleet: deprecated: --data sets `mastodon_version`; write `instance.version` instead "
        "(`mastodon_version` is still read in this release, not in the next)",
        "mastofleet: deprecated: --data sets `code_source`; write `instance.source` instead "
        "(`code_source` is still read in this release, not in the next)",
    ]


def test_the_version_override_is_a_model_path(capsys) -> None:  # type: ignore[no-untyped-def]
    fleet, _ = load_fleet(INVENTORY, {VERSION_OVERRIDE: "v4.6.7"})
    assert VERSION_OVERRIDE == "instance.version"
    assert fleet.instance.version == "v4.6.7"
    assert fleet.instance.local_domain == "hachyderm.example"  # the rest of the instance is kept
    assert capsys.readouterr().err == ""


def test_the_repository_uses_no_old_name(capsys, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The local inventory's secrets live in the local fleet's state directory: a fresh one here, so
    # the test does not depend on whether this machine ever booted the local fleet.
    monkeypatch.setenv(STATE_DIRECTORY_VARIABLE, str(tmp_path))
    assert commands.main(["secrets", "init", str(REPO / "inventories" / "local.py"), "--generate-missing"]) == 0
    capsys.readouterr()
    for inventory in ("hetzner", "local"):
        load_fleet(str(REPO / "inventories" / f"{inventory}.py"))
    assert "deprecated" not in capsys.readouterr().err
