"""Puma (mastodon-web) on app hosts: running, sandboxed, on the private address only, and every
web host reached through nginx on the lb host."""

from __future__ import annotations

from collections import Counter

from infra_support import (
    Site,
    Target,
    assert_active_and_enabled,
    assert_files_as_rendered,
    assert_listening_only,
    assert_sandboxed,
    unit_environment,
)

from mastofleet.deploys import web
from mastofleet.plan.files import SecretValues

UNIT = "mastodon-web.service"
REQUESTS_THROUGH_NGINX = 60


def test_web_service(web_host: Target) -> None:
    assert_active_and_enabled(web_host, [UNIT])


def test_web_unit_file(web_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    assert_files_as_rendered(web_host, web.files_for(fleet, web_host.model, SecretValues()))


def test_web_listens_on_the_private_address_only(web_host: Target) -> None:
    settings = web_host.model.web
    assert_listening_only(web_host, settings.port, {str(web_host.model.private_address)})
    puma = {(address, port) for address, port, processes in web_host.listeners if "puma" in processes}
    assert puma == {(str(web_host.model.private_address), settings.port)}, f"{web_host.name}: puma listens on {puma}"


def test_web_unit_carries_the_model(web_host: Target) -> None:
    settings = web_host.model.web
    environment = unit_environment(web_host, UNIT)
    wanted = {
        "PORT": str(settings.port),
        "BIND": str(web_host.model.private_address),
        "WEB_CONCURRENCY": str(settings.processes),
        "MAX_THREADS": str(settings.threads),
        "RAILS_ENV": "production",
    }
    assert {key: environment.get(key) for key in wanted} == wanted


def test_web_sandbox(web_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    assert_sandboxed(web_host, UNIT, fleet.instance.user)


def test_web_health_on_the_private_address(web_host: Target, balancer) -> None:  # type: ignore[no-untyped-def]
    """/health of each Puma answers 200 OK to the lb host, where nginx reaches it from."""
    url = f"http://{web_host.model.private_address}:{web_host.model.web.port}/health"
    answer = balancer.output(f"curl -sS -m 5 -w ' %{{http_code}}' {url}")
    assert answer.strip() == "OK 200", f"{url} from {balancer.name}: {answer!r}"


def test_nginx_reaches_every_web_host(site: Site, fleet_ready) -> None:  # type: ignore[no-untyped-def]
    """Requests through nginx are balanced over EVERY app host that runs web (the model's list)."""
    served: Counter[str] = Counter()
    for _ in range(REQUESTS_THROUGH_NGINX):
        answer = site.get("/standin/whoami")
        assert answer.status_code == 200, f"/standin/whoami through nginx: {answer.status_code} {answer.text[:200]}"
        served[answer.json()["host"]] += 1
    assert set(served) == set(fleet_ready.web_names), f"answered by {dict(served)}"
