"""The monitor host: Prometheus (and Alertmanager) running on the private address only, configured
exactly as rendered, accepted by promtool on the host, scraping exactly the endpoints of the model
and evaluating every alert rule of the fleet (read back through Prometheus' HTTP API)."""

from __future__ import annotations

from typing import Any

import pytest
from infra_support import Target, assert_active_and_enabled, assert_files_as_rendered, assert_listening_only

from mastofleet.deploys import monitoring, registry
from mastofleet.plan.files import SecretValues
from mastofleet.plan.metrics import metrics_endpoints
from mastofleet.views.metrics_endpoints import ALERTMANAGER_PORT, PROMETHEUS_PORT

ALERTMANAGER_CLUSTER_PORT = 9094  # gossip between Alertmanagers: off (a single monitor host)


@pytest.fixture(scope="session")
def monitor(fleet_ready) -> Target:  # type: ignore[no-untyped-def]
    host = fleet_ready.fleet.monitor_host
    if host is None:
        pytest.skip("the fleet has no monitor host")
    return fleet_ready.target(host.name)


def prometheus_api(fleet, path: str) -> Any:  # type: ignore[no-untyped-def]
    """GET from Prometheus' HTTP API at the monitor host's private address (from the test machine)."""
    import requests

    session = requests.Session()
    session.trust_env = False
    answer = session.get(f"http://{fleet.monitor_host.private_address}:{PROMETHEUS_PORT}{path}", timeout=10)
    answer.raise_for_status()
    document = answer.json()
    assert document["status"] == "success", document
    return document["data"]


def test_monitoring_services(monitor: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    services = ["prometheus.service"]
    if fleet.monitoring.alertmanager.enabled:
        services.append(f"{monitoring.ALERTMANAGER}.service")
    assert_active_and_enabled(monitor, services)


def test_monitoring_listens_on_the_private_address_only(monitor: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    private = str(monitor.model.private_address)
    assert_listening_only(monitor, PROMETHEUS_PORT, {private})
    if fleet.monitoring.alertmanager.enabled:
        assert_listening_only(monitor, ALERTMANAGER_PORT, {private})
    assert not monitor.addresses_on(ALERTMANAGER_CLUSTER_PORT), f"{monitor.name}: Alertmanager gossips on 9094"


def test_monitoring_files(monitor: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    assert_files_as_rendered(monitor, registry.by_name("monitoring").files(fleet, monitor.model, SecretValues()))


def test_promtool_on_the_host_accepts_the_configuration(monitor: Target) -> None:
    output = monitor.output(f"promtool check config {monitoring.PROMETHEUS_CONFIGURATION} 2>&1")
    assert f"SUCCESS: {len(monitoring.RULE_FILES)} rule files found" in output, output


def test_prometheus_scrapes_exactly_the_endpoints_of_the_model(fleet) -> None:  # type: ignore[no-untyped-def]
    targets = prometheus_api(fleet, "/api/v1/targets?state=active")["activeTargets"]
    scraped = sorted((item["labels"]["job"], item["labels"]["instance"], item["labels"]["host"]) for item in targets)
    wanted = sorted((item.job, item.instance, item.host) for item in metrics_endpoints(fleet))
    assert scraped == wanted


def test_prometheus_evaluates_every_alert_rule(fleet) -> None:  # type: ignore[no-untyped-def]
    groups = prometheus_api(fleet, "/api/v1/rules?type=alert")["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    rendered = {
        line.split("- alert: ", 1)[1].strip()
        for item in monitoring.rule_files(fleet)
        for line in item.content.splitlines()
        if "- alert: " in line
    }
    assert loaded == rendered
    unhealthy = [
        (rule["name"], rule.get("lastError")) for group in groups for rule in group["rules"] if rule["health"] == "err"
    ]
    assert not unhealthy, unhealthy


def test_prometheus_knows_its_alertmanager(fleet) -> None:  # type: ignore[no-untyped-def]
    if not fleet.monitoring.alertmanager.enabled:
        pytest.skip("Alertmanager is not enabled in this fleet")
    active = prometheus_api(fleet, "/api/v1/alertmanagers")["activeAlertmanagers"]
    assert [item["url"] for item in active] == [
        f"http://{fleet.monitor_host.private_address}:{ALERTMANAGER_PORT}/api/v2/alerts"
    ]
