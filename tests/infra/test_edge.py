"""The edge role on any inventory: nginx running with the configuration the model renders, valid,
listening for the world, and answering the site and the media host over TLS from the edge itself;
a media file that exists nowhere is a 404, never a 5xx. With migration mode on, the write-back
service runs too (its end-to-end behaviour is tests/fleet/test_media_migration.py)."""

from __future__ import annotations

import pytest
from infra_support import FleetUnderTest, Target, assert_active_and_enabled, assert_files_as_rendered

from mastofleet.deploys import edge, media_migration
from mastofleet.model import Fleet
from mastofleet.plan.files import SecretValues
from mastofleet.plan.services import expected_services


def test_edge_services(edge_host: Target, fleet: Fleet) -> None:
    assert edge_host.model is not None
    assert_active_and_enabled(edge_host, expected_services(fleet, edge_host.model))


def test_edge_configuration_as_rendered(edge_host: Target, fleet: Fleet) -> None:
    assert edge_host.model is not None
    rendered = edge.files_for(fleet, edge_host.model, SecretValues())
    rendered += media_migration.files_for(fleet, edge_host.model, SecretValues())
    assert_files_as_rendered(edge_host, rendered)


def test_edge_nginx_is_valid_and_listens_for_the_world(edge_host: Target) -> None:
    result = edge_host.run("nginx -t -q")
    assert result.rc == 0, f"{edge_host.name}: nginx -t: {result.stderr.strip()}"
    for port in (80, 443):
        assert edge_host.addresses_on(port) & {"0.0.0.0", "::"}, f"{edge_host.name}: nothing listens on :{port}"


def request_on_edge(edge_host: Target, name: str, path: str) -> str:
    """Status code of an HTTPS request made on the edge host to itself, for `name` (SNI and Host)."""
    return edge_host.output(
        f"curl -sk -o /dev/null -w '%{{http_code}}' --max-time 20 --resolve {name}:443:127.0.0.1 https://{name}{path}"
    ).strip()


def test_the_site_answers_through_the_edge(edge_host: Target, fleet: Fleet) -> None:
    assert request_on_edge(edge_host, fleet.instance.site_domain, "/health") == "200"


@pytest.fixture(scope="module")
def media_store(fleet_ready: FleetUnderTest) -> None:
    """The local fleet's object store is the test harness's S3 server on outsider: start it (moto,
    standing in for Spaces); other inventories have their real store."""
    if fleet_ready.is_local:
        from support.media_fleet import s3_client, start_object_store

        start_object_store()
        storage = fleet_ready.fleet.object_storage
        assert storage is not None
        s3_client().create_bucket(Bucket=storage.bucket)


def test_a_media_file_that_exists_nowhere_is_404(edge_host: Target, fleet: Fleet, media_store: None) -> None:
    storage = fleet.object_storage
    assert storage is not None and storage.alias_host, "the fleet has no media host for the edge to serve"
    status = request_on_edge(edge_host, storage.alias_host, "/media_attachments/files/000/none/missing.png")
    # 404 from the store; 502 only if the store itself is unreachable, which is a finding, not a 5xx by design
    assert status == "404", f"a missing media file answered {status}"
