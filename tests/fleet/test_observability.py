"""Monitoring on the local fleet, through Prometheus' HTTP API on the monitor host: every target of
the model is up; stopping a service makes its TargetDown alert go pending, and starting it again
brings the target back. `mastofleet doctor` prints figures for every host (the hosts are
systemd-nspawn containers: SMART is reported as not visible, never invented), and a deploy whose
db disk fails the thresholds is refused, with the figures, before anything changes.

Only the Mastodon code is a stand-in (tests/fixtures/standin, including its prometheus_exporter);
Prometheus, Alertmanager, the exporters, fio and the hosts are the real ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mastofleet.plan.metrics import metrics_endpoints
from mastofleet.project.fleet import load_fleet
from mastofleet.remote import connected
from mastofleet.views.metrics_endpoints import PROMETHEUS_PORT
from support.deploy_run import PROJECT, DeployResult, run_deploy

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

INVENTORY = "inventories/local.py"


@pytest.fixture(scope="module")
def fleet_and_inventory(first_deploy: DeployResult):  # type: ignore[no-untyped-def]
    return load_fleet(str(PROJECT / INVENTORY))


def api(fleet, path: str) -> Any:  # type: ignore[no-untyped-def]
    import requests

    session = requests.Session()
    session.trust_env = False
    answer = session.get(f"http://{fleet.monitor_host.private_address}:{PROMETHEUS_PORT}{path}", timeout=10)
    answer.raise_for_status()
    return answer.json()["data"]


def wait_for(condition: Callable[[], Any], seconds: float, step: float = 2.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def target_health(fleet) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    targets = api(fleet, "/api/v1/targets?state=active")["activeTargets"]
    return {(item["labels"]["job"], item["labels"]["instance"]): item["health"] for item in targets}


def test_every_target_of_the_fleet_is_up(fleet_and_inventory) -> None:  # type: ignore[no-untyped-def]
    fleet, _ = fleet_and_inventory
    wanted = {(item.job, item.instance) for item in metrics_endpoints(fleet)}
    interval = fleet.monitoring.scrape_interval_seconds

    def all_up() -> dict[tuple[str, str], str] | None:
        health = target_health(fleet)
        return health if set(health) == wanted and set(health.values()) == {"up"} else None

    health = wait_for(all_up, seconds=interval * 6)
    health = health or target_health(fleet)
    down = {key: state for key, state in health.items() if state != "up"}
    assert set(health) == wanted and not down, f"targets not up: {down}; missing: {wanted - set(health)}"
    jobs = sorted({job for job, _ in health})
    print(f"\nPrometheus on {fleet.monitor_host.name}: {len(health)} targets up, jobs: {', '.join(jobs)}")


def run_on(inventory: Any, host: str, command: str) -> str:
    """As the inventory logs in (an operator, through sudo), the way mastofleet's commands do."""
    data = next(item.data.dict() for item in inventory if item.name == host)
    with connected(host, data) as remote:
        return remote.run(command, timeout=60)


def target_down_alert(fleet, job: str, host: str) -> dict | None:  # type: ignore[no-untyped-def]
    for alert in api(fleet, "/api/v1/alerts")["alerts"]:
        labels = alert["labels"]
        if (labels.get("alertname"), labels.get("job"), labels.get("host")) == ("TargetDown", job, host):
            return alert
    return None


@pytest.mark.parametrize(
    ("host", "service", "job"),
    [
        ("franz", "prometheus-node-exporter.service", "node"),
        ("fritz", "mastodon-streaming@4001.service", "streaming"),
    ],
    ids=["node-exporter-on-franz", "streaming-4001-on-fritz"],
)
def test_a_stopped_service_makes_its_target_down_alert_pending(fleet_and_inventory, host, service, job) -> None:  # type: ignore[no-untyped-def]
    fleet, inventory = fleet_and_inventory
    assert wait_for(lambda: target_down_alert(fleet, job, host) is None, seconds=120), "a TargetDown alert is left over"
    interval = fleet.monitoring.scrape_interval_seconds
    started = time.monotonic()
    run_on(inventory, host, f"systemctl stop {service}")
    try:
        alert = wait_for(lambda: target_down_alert(fleet, job, host), seconds=interval * 4 + 10)
        seconds = time.monotonic() - started
        assert alert, f"no TargetDown alert for {job} on {host} {seconds:.0f} s after stopping {service}"
        assert alert["state"] == "pending", alert  # TargetDown waits 2 minutes before it fires
        print(f"\nstopped {service} on {host}: TargetDown {alert['state']} after {seconds:.0f} s")
    finally:
        run_on(inventory, host, f"systemctl start {service}")
    back = wait_for(lambda: target_down_alert(fleet, job, host) is None, seconds=interval * 4 + 10)
    assert back, f"TargetDown for {job} on {host} stays after {service} started again"


def test_doctor_prints_figures_for_every_host(fleet_and_inventory) -> None:  # type: ignore[no-untyped-def]
    fleet, _ = fleet_and_inventory
    result = subprocess.run(
        [str(Path(sys.executable).with_name("mastofleet")), "doctor", INVENTORY],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print("\n" + result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2 : 2 + len(fleet.hosts)]}
    assert set(rows) == {host.name for host in fleet.hosts}
    for name, row in rows.items():
        assert "(fio)" in row, f"{name}: not measured with fio: {row}"
        assert row.count(" ms") == 2, f"{name}: no read and write latency: {row}"
        assert "not visible (systemd-nspawn container)" in row, f"{name}: SMART: {row}"
        assert row.split()[-1] in {"OK", "WARN"}, row
    assert "/var/lib/postgresql/17 (fio)" in rows[fleet.db_host.name]


def test_a_deploy_onto_a_failing_db_disk_is_refused_with_the_figures(first_deploy: DeployResult) -> None:
    """The same fleet with thresholds no disk meets: the db host's probe fails, so pyinfra stops while
    preparing, before a single operation runs anywhere."""
    strict = json.dumps({"read_latency_ms": 0.001, "write_latency_ms": 0.001})
    refused = run_deploy(INVENTORY, "--data", f"doctor={strict}")
    assert refused.returncode != 0
    assert "mastofleet refuses to deploy the db role onto nixie: its disk (/var/lib/postgresql/17" in refused.output
    assert "measured with fio for 3 s) fails: read latency p99 " in refused.output
    assert "ms > 0.001 ms; write latency p99 " in refused.output
    assert refused.changed == {} and refused.failed == {}
