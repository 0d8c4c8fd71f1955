"""The media migration's settings: each invalid one refused with its own problem, from the default
fleet with migration mode switched on; and the finish record turning migration mode off."""

from __future__ import annotations

import json

import pytest
from fleet_builder import build, host_data, problems_of

from mastofleet.project.media_record import finished, with_record, write_record

ORIGIN = "http://10.0.0.9:8080"


def migrating(fleet_data):  # type: ignore[no-untyped-def]
    hosts, common = fleet_data
    common["media_migration"] = {"origin": ORIGIN}
    return hosts, common


def test_migration_mode_on_the_default_fleet_is_valid(fleet_data) -> None:
    fleet = build(*migrating(fleet_data))
    assert fleet.migrating_media
    assert fleet.object_storage is not None
    assert fleet.object_storage.bucket_url == "https://hachyderm-media.fra1.digitaloceanspaces.com"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("origin", "10.0.0.9:8080", "is not a base URL"),
        ("origin", "http://10.0.0.9:8080/system", "is not a base URL"),
        ("copy_bandwidth", "fast", "not a bandwidth rclone understands"),
        ("copy_interval", "hourly", "is not a time span"),
    ],
)
def test_bad_migration_settings(fleet_data, field: str, value: str, message: str) -> None:
    hosts, common = migrating(fleet_data)
    common["media_migration"][field] = value
    problems, _ = problems_of(hosts, common)
    assert [(p.where, p.field) for p in problems] == [("media_migration", field)]
    assert message in problems[0].message


def test_migration_needs_an_edge_host_and_a_media_host(fleet_data) -> None:
    hosts, common = migrating(fleet_data)
    hosts[:] = [host for host in hosts if "edge" not in host["groups"]]
    common["object_storage"].pop("alias_host")
    problems, text = problems_of(hosts, common)
    assert len(problems) == 2 and "alias_host" in text and "'edge'" in text


def test_plain_http_storage_only_on_the_private_network(fleet_data) -> None:
    hosts, common = fleet_data
    common["object_storage"]["endpoint"] = "http://10.0.3.4:9000"
    common["backup"] = {"bucket": "backups", "endpoint": "https://10.0.3.4:9443"}  # pgBackRest speaks TLS only
    fleet = build(hosts, common)
    assert (
        fleet.object_storage is not None and fleet.object_storage.bucket_url == "http://10.0.3.4:9000/hachyderm-media"
    )
    common["object_storage"]["endpoint"] = "http://203.0.113.9:9000"
    problems, _ = problems_of(hosts, common)
    assert [(p.where, p.field) for p in problems] == [("object_storage", "endpoint")]


def test_an_edge_host_cannot_also_be_the_balancer(fleet_data) -> None:
    hosts, common = fleet_data
    next(host for host in hosts if host["name"] == "nixie")["groups"].append("edge")
    problems, _ = problems_of(hosts, common)
    assert [(p.where, p.field) for p in problems] == [("nixie", "roles")]
    assert host_data(hosts, "nixie")


def test_the_finish_record_turns_migration_mode_off(fleet_data, tmp_path) -> None:
    fleet = build(*migrating(fleet_data))
    assert not finished(fleet, str(tmp_path))
    path = write_record(fleet, str(tmp_path), 1100, 123)
    assert json.loads(path.read_text())["origin"] == ORIGIN
    assert not with_record(fleet, str(tmp_path)).migrating_media
    other = fleet.model_copy(
        update={"media_migration": fleet.media_migration.model_copy(update={"origin": "http://10.0.0.10:80"})}  # type: ignore[union-attr]
    )
    assert with_record(other, str(tmp_path)).migrating_media, "a record of another old server counted"
