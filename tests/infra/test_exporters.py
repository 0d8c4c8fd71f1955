"""The exporters of every host, from the model: each service active and enabled, listening on its
host's private address only, configured exactly as rendered, and answering the monitor host with
the metrics the alert rules read (Mastodon's exporter is the stand-in's in the local fleet: it
serves the same Sidekiq metrics, read from Redis, see tests/fixtures/standin/bin/prometheus_exporter).
"""

from __future__ import annotations

import re
import shlex
import time

import pytest
from conftest import fleet_under_test
from infra_support import Site, Target, assert_active_and_enabled, assert_files_as_rendered, assert_listening_only

from mastofleet.deploys import exporters, mastodon_exporter, registry
from mastofleet.plan.files import SecretValues
from mastofleet.plan.metrics import host_endpoints, metrics_endpoints
from mastofleet.plan.services import METRICS_SERVICES
from mastofleet.views.metrics_endpoints import MetricsEndpoint, runs_nginx

# Sidekiq's process registry forgets a process whose heartbeat key (this TTL) expired.
SIDEKIQ_HEARTBEAT_SECONDS = 60

# What each job must show for the alert rules to have something to read (labels or not).
EXPECTED_METRICS = {
    "node": [
        "node_disk_io_time_seconds_total",
        "node_filesystem_avail_bytes",
        "node_memory_MemAvailable_bytes",
        "node_load15",
        "mastofleet_nftables_rules",
        "mastofleet_textfile_timestamp_seconds",
    ],
    "postgres": [
        "pg_stat_activity_count",
        "pg_settings_max_connections",
        "pg_wal_size_bytes",
        "pg_settings_max_wal_size_bytes",
        "pg_replication_lag_seconds",
    ],
    "pgbouncer": ["pgbouncer_pools_client_active_connections"],
    "redis": ["redis_memory_used_bytes", "redis_memory_max_bytes"],
    "nginx": ["nginx_connections_active"],
    "nginx_log": ["nginx_http_requests_total"],
    "mastodon": ["mastodon_sidekiq_process_concurrency", "mastodon_sidekiq_queue_latency_seconds"],
    "streaming": ["mastodon_streaming_connected_clients"],
    "prometheus": ["prometheus_build_info"],
    "alertmanager": ["alertmanager_build_info"],
}
# The exporters that say whether they reach what they export.
REACHES = {"postgres": "pg_up", "pgbouncer": "pgbouncer_up", "redis": "redis_up", "nginx": "nginx_up"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "endpoint" in metafunc.fixturenames:
        endpoints = metrics_endpoints(fleet_under_test(metafunc.config).fleet)
        metafunc.parametrize(
            "endpoint",
            endpoints,
            ids=[f"{item.host}-{item.job}-{item.instance.rsplit(':', 1)[1]}" for item in endpoints],
        )


@pytest.fixture(scope="session")
def monitor(fleet_ready) -> Target:  # type: ignore[no-untyped-def]
    host = fleet_ready.fleet.monitor_host
    if host is None:
        pytest.skip("the fleet has no monitor host")
    return fleet_ready.target(host.name)


def test_exporter_services(any_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    services = [
        METRICS_SERVICES[item.job] for item in host_endpoints(fleet, any_host.model) if item.job in METRICS_SERVICES
    ]
    assert_active_and_enabled(any_host, [*services, f"{exporters.TEXTFILE_UNIT}.timer"])


def test_exporter_files(any_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    rendered = registry.by_name("exporters").files(fleet, any_host.model, SecretValues())
    rendered += mastodon_exporter.files_for(fleet, any_host.model, SecretValues())
    assert_files_as_rendered(any_host, rendered)


def test_each_endpoint_listens_on_the_private_address_only(endpoint: MetricsEndpoint, fleet_ready) -> None:  # type: ignore[no-untyped-def]
    assert_listening_only(fleet_ready.target(endpoint.host), endpoint.port, {endpoint.address})


def test_each_endpoint_answers_the_monitor_host(endpoint: MetricsEndpoint, monitor: Target, site: Site) -> None:
    if endpoint.job == "nginx_log":
        # mtail shows a counter once this host's nginx has logged a request: send one through it,
        # whatever else ran before (an edge host is requested by nothing else in this module).
        site.request("GET", f"https://{endpoint.address}/health", params={"nocache": site.unique()})
    url = shlex.quote(endpoint.url)
    deadline = time.monotonic() + 10  # mtail reads the log as it grows: give it a moment
    while True:
        text = monitor.output(f"curl -sS -m 10 --fail {url}")
        missing = [name for name in EXPECTED_METRICS[endpoint.job] if not re.search(rf"^{name}[{{ ]", text, re.M)]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not missing, f"{endpoint.target} ({endpoint.job} on {endpoint.host}) lacks {missing} at {endpoint.url}"
    if endpoint.job in REACHES:
        up = re.search(rf"^{REACHES[endpoint.job]}(?:{{[^}}]*}})? (\S+)$", text, re.M)
        assert up and float(up[1]) == 1, f"{endpoint.url}: {REACHES[endpoint.job]} is {up[1] if up else 'absent'}"


def test_mastodons_exporter_sees_this_hosts_sidekiq_processes(app_host: Target, monitor: Target) -> None:
    """One mastodon_sidekiq_process_concurrency series per Sidekiq process of the model on this host,
    with its queues and threads. A process that died without its clean shutdown stays in Sidekiq's
    registry until its heartbeat key expires (60 s), so the check waits that long for agreement."""
    url = shlex.quote(f"http://{app_host.model.private_address}:9394/metrics")
    wanted = sorted((",".join(sorted(set(process.queue_names))), process.threads) for process in app_host.model.sidekiq)
    deadline = time.monotonic() + SIDEKIQ_HEARTBEAT_SECONDS + 15
    while True:
        text = monitor.output(f"curl -sS -m 10 --fail {url}")
        seen = sorted(
            (match[1], int(float(match[2])))
            for match in re.finditer(
                r'^mastodon_sidekiq_process_concurrency\{[^}]*queues="([^"]*)"[^}]*\} (\S+)$', text, re.M
            )
        )
        if seen == wanted or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert seen == wanted, f"{app_host.name}: the exporter reports {seen}, the model has {wanted}"


def test_textfile_metrics_report_the_firewall_and_certificates(any_host: Target) -> None:
    text = any_host.output(f"cat {exporters.TEXTFILE_DIRECTORY}/mastofleet.prom")
    rules = re.search(r"^mastofleet_nftables_rules (\d+)$", text, re.M)
    assert rules, f"{any_host.name}: no nftables rule count"
    installed = any_host.run("command -v nft").rc == 0
    if installed:
        counted = any_host.output("nft --json list ruleset | grep -o '{\"rule\":' | wc -l").strip()
        assert rules[1] == counted
    else:
        assert rules[1] == "0"
    if not runs_nginx(any_host.model):
        assert "mastofleet_tls_certificate_expiry_seconds{" not in text
        return
    served = any_host.output(
        'nginx -T 2>/dev/null | awk \'$1 == "ssl_certificate" { sub(/;$/, "", $2); print $2 }\' | sort -u'
    ).split()
    for certificate in served:
        end = any_host.run(f"openssl x509 -noout -enddate -in {shlex.quote(certificate)}")
        if end.rc != 0:
            continue  # nginx names it but it cannot be read: nothing to report
        seconds = any_host.output(f"date -d {shlex.quote(end.stdout.strip().split('=', 1)[1])} +%s").strip()
        assert f'mastofleet_tls_certificate_expiry_seconds{{path="{certificate}"}} {seconds}' in text
