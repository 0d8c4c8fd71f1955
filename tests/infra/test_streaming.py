"""The streaming API on app hosts: one sandboxed `mastodon-streaming@PORT` per port of the model, on
the private address only, healthy on each instance and through nginx."""

from __future__ import annotations

from infra_support import (
    Site,
    Target,
    assert_active_and_enabled,
    assert_files_as_rendered,
    assert_listening_only,
    assert_sandboxed,
    unit_environment,
)

from mastofleet.deploys import streaming
from mastofleet.plan.files import SecretValues
from mastofleet.plan.services import expected_services

HEALTH = "/api/v1/streaming/health"


def _instances(target: Target) -> list[str]:
    return [f"mastodon-streaming@{port}.service" for port in target.model.streaming.ports]


def test_streaming_services(streaming_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    units = [unit for unit in expected_services(fleet, streaming_host.model) if unit.startswith("mastodon-streaming@")]
    assert units == _instances(streaming_host)
    # The group unit starts them together at boot.
    assert_active_and_enabled(streaming_host, [*units, "mastodon-streaming.service"])


def test_streaming_unit_files(streaming_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    assert_files_as_rendered(streaming_host, streaming.files_for(fleet, streaming_host.model, SecretValues()))


def test_streaming_listens_on_the_private_address_only(streaming_host: Target) -> None:
    private = str(streaming_host.model.private_address)
    ports = streaming_host.model.streaming.ports
    for port in ports:
        assert_listening_only(streaming_host, port, {private})
    node = {(address, port) for address, port, processes in streaming_host.listeners if "node" in processes.split(",")}
    assert node == {(private, port) for port in ports}, f"{streaming_host.name}: node listens on {node}"


def test_streaming_instances_carry_the_model(streaming_host: Target) -> None:
    settings = streaming_host.model.streaming
    for port, unit in zip(settings.ports, _instances(streaming_host), strict=True):
        environment = unit_environment(streaming_host, unit)
        wanted = {
            "PORT": str(port),
            "BIND": str(streaming_host.model.private_address),
            "DB_POOL": str(settings.db_pool),
            "NODE_ENV": "production",
        }
        assert {key: environment.get(key) for key in wanted} == wanted, unit


def test_streaming_sandbox(streaming_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    for unit in _instances(streaming_host):
        assert_sandboxed(streaming_host, unit, fleet.instance.user)


def test_streaming_health_of_each_instance(streaming_host: Target, balancer) -> None:  # type: ignore[no-untyped-def]
    """Each instance answers its health check (it pings Redis) to the lb host, which balances them."""
    for port in streaming_host.model.streaming.ports:
        url = f"http://{streaming_host.model.private_address}:{port}{HEALTH}"
        answer = balancer.output(f"curl -sS -m 5 -w ' %{{http_code}}' {url}")
        assert answer.strip() == "OK 200", f"{url} from {balancer.name}: {answer!r}"


def test_streaming_health_through_nginx(site: Site) -> None:
    answer = site.get(HEALTH, fresh=False)
    assert (answer.status_code, answer.text.strip()) == (200, "OK")
