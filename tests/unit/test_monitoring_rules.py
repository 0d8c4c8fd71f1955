"""The monitoring files, checked by the real tools: `promtool check config`, `promtool test rules`
(every alert has a test that fires and one that does not), `amtool check-config`, mtail on a
sample of nginx's metrics log, the textfile script run here and its output read by `promtool check
metrics`; and the model behind them: scrape targets and exporter ports from the hosts, private
addresses only, nothing at all without a monitor host, and the rules about monitoring.

A tool that is not installed fails the test when `CI` is set (scripts/install installs prometheus,
prometheus-alertmanager and mtail on the CI machine) and skips it elsewhere, with the reason.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from fleet_builder import APP_HOSTS, SECRET_NAMES, build, default_fleet_data, problems_of
from test_rendered_files import require

from mastofleet.deploys import exporters, mastodon_exporter, monitoring, registry
from mastofleet.model import DEFAULT_SIDEKIQ_LATENCY
from mastofleet.plan.files import SecretValues, host_files
from mastofleet.plan.metrics import exporter_ports, metrics_endpoints
from mastofleet.views.environment import environment_keys, render_environment
from mastofleet.views.templating import render

PROMTOOL_TESTS = Path(__file__).with_name("promtool")
ALERT = re.compile(r"^\s+- alert: (\w+)$", re.M)


def render_rules(fleet, directory: Path) -> list[Path]:
    paths = []
    for item in monitoring.rule_files(fleet):
        path = directory / item.path.rsplit("/", 1)[1]
        path.write_text(item.content)
        paths.append(path)
    return paths


def alert_names(fleet) -> set[str]:
    return {name for item in monitoring.rule_files(fleet) for name in ALERT.findall(item.content)}


def promtool_test(directory: Path, *test_files: Path) -> subprocess.CompletedProcess:
    for test_file in test_files:
        shutil.copy(test_file, directory / test_file.name)
    return subprocess.run(
        [require("promtool"), "test", "rules", *(test_file.name for test_file in test_files)],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def fleet():
    return build(*default_fleet_data())


# --- Prometheus' configuration and rules --------------------------------------------------------


def test_promtool_accepts_the_configuration_and_rules(fleet, tmp_path):
    files = {item.path: item.content for item in registry.by_name("monitoring").files(fleet, fleet.host("nixie"), SecretValues())}
    (tmp_path / "rules").mkdir()
    render_rules(fleet, tmp_path / "rules")
    configuration = files[monitoring.PROMETHEUS_CONFIGURATION].replace(
        monitoring.RULES_DIRECTORY, str(tmp_path / "rules")
    )
    (tmp_path / "prometheus.yml").write_text(configuration)
    result = subprocess.run(
        [require("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(monitoring.RULE_FILES)} rule files found" in result.stdout
    assert len(alert_names(fleet)) == 20


@pytest.mark.parametrize("test_file", sorted(PROMTOOL_TESTS.glob("*.test.yml")), ids=lambda path: path.name)
def test_promtool_unit_tests_of_the_rules(fleet, tmp_path, test_file):
    render_rules(fleet, tmp_path)
    result = promtool_test(tmp_path, test_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def expectations(test_file: Path) -> list[tuple[str, bool]]:
    """(alertname, fires?) of every alert_rule_test in a promtool test file."""
    import yaml

    document = yaml.safe_load(test_file.read_text())
    return [
        (check["alertname"], bool(check.get("exp_alerts")))
        for test in document["tests"]
        for check in test.get("alert_rule_test", [])
    ]


def test_every_alert_has_a_test_that_fires_and_one_that_does_not(fleet):
    tested = [item for test_file in PROMTOOL_TESTS.glob("*.test.yml") for item in expectations(test_file)]
    names = alert_names(fleet)
    assert {name for name, _ in tested} == names, "tests name alerts that are not in the rules, or miss some"
    for name in sorted(names):
        assert (name, True) in tested, f"{name} has no test in which it fires"
        assert (name, False) in tested, f"{name} has no test in which it stays quiet"


def test_the_sidekiq_thresholds_of_the_model_reach_the_rules(tmp_path):
    """The harness can fail, and the model drives it: with the default queue's threshold raised
    above the 400 s of the test, the test in which it fires fails."""
    hosts, common = default_fleet_data()
    common["monitoring"] = {**common["monitoring"], "sidekiq_latency_seconds": {"default": 500}}
    raised = build(hosts, common)
    assert raised.monitoring.sidekiq_latency_seconds == {**DEFAULT_SIDEKIQ_LATENCY, "default": 500}
    render_rules(raised, tmp_path)
    result = promtool_test(tmp_path, PROMTOOL_TESTS / "mastodon.test.yml")
    assert result.returncode != 0
    assert "the default queue waiting 400 s on one host fires SidekiqQueueLatencyHigh" in result.stdout + result.stderr


# --- targets and ports from the model ---------------------------------------------------------


def scrape_targets(fleet) -> dict[str, list[tuple[str, str]]]:
    """job -> [(target, host label)] as written in the rendered prometheus.yml."""
    import yaml

    text = next(
        item.content
        for item in registry.by_name("monitoring").files(fleet, fleet.host("nixie"), SecretValues())
        if item.path == monitoring.PROMETHEUS_CONFIGURATION
    )
    configuration = yaml.safe_load(text)
    return {
        job["job_name"]: [
            (target, group["labels"]["host"]) for group in job["static_configs"] for target in group["targets"]
        ]
        for job in configuration["scrape_configs"]
    }


def test_every_host_is_scraped_for_what_it_runs(fleet):
    targets = scrape_targets(fleet)
    address = {host.name: str(host.private_address) for host in fleet.hosts}
    assert targets["node"] == [(f"{address[name]}:9100", name) for name in address]
    assert targets["postgres"] == [(f"{address['nixie']}:9187", "nixie")]
    assert targets["pgbouncer"] == [(f"{address['nixie']}:9127", "nixie")]
    assert targets["redis"] == [(f"{address['nixie']}:9121", "nixie")]
    assert targets["nginx"] == [(f"{address['nixie']}:9113", "nixie"), (f"{address['esme']}:9113", "esme")]
    assert targets["nginx_log"] == [(f"{address['nixie']}:3903", "nixie"), (f"{address['esme']}:3903", "esme")]
    assert targets["mastodon"] == [(f"{address[name]}:9394", name) for name in APP_HOSTS]
    assert targets["streaming"] == [(f"{address[name]}:{port}", name) for name in APP_HOSTS for port in (4000, 4001)]
    assert targets["prometheus"] == [(f"{address['nixie']}:9090", "nixie")]
    assert targets["alertmanager"] == [(f"{address['nixie']}:9093", "nixie")]


def test_a_new_app_host_is_scraped_without_editing_a_target_list():
    hosts, common = default_fleet_data()
    frieda = copy.deepcopy(next(host for host in hosts if host["name"] == "franz"))
    frieda["name"] = "frieda"
    frieda["data"].update(private_address="10.0.1.8", public_address="203.0.113.18")
    hosts.append(frieda)
    targets = scrape_targets(build(hosts, common))
    for job, port in (("node", 9100), ("mastodon", 9394), ("streaming", 4000), ("streaming", 4001)):
        assert (f"10.0.1.8:{port}", "frieda") in targets[job], job
    assert ("10.0.1.8:9187", "frieda") not in targets["postgres"]
    assert ("frieda", 9394, "Mastodon's exporter: Sidekiq queues, Puma") in exporter_ports(build(hosts, common))


def test_a_retired_host_is_no_longer_scraped():
    hosts, common = default_fleet_data()
    franz = next(host for host in hosts if host["name"] == "franz")
    franz["groups"] = ["retired"]
    for key in ("web", "streaming", "sidekiq", "sidekiq_layout"):
        franz["data"].pop(key, None)
    fleet = build(hosts, common)
    assert not [item for item in metrics_endpoints(fleet) if item.host == "franz"]
    assert registry.by_name("exporters").files(fleet, fleet.host("franz"), SecretValues()) == []
    assert "10.0.1.5:" not in scrape_targets_text(fleet)


def scrape_targets_text(fleet) -> str:
    return next(
        item.content
        for item in registry.by_name("monitoring").files(fleet, fleet.host("nixie"), SecretValues())
        if item.path == monitoring.PROMETHEUS_CONFIGURATION
    )


def test_exporter_ports_for_the_firewall(fleet):
    ports = exporter_ports(fleet)
    assert ("nixie", 9187, "postgres_exporter: connections, WAL, replication") in ports
    assert {(host, port) for host, port, _ in ports if port == 9100} == {(host.name, 9100) for host in fleet.hosts}
    assert {(host, port) for host, port, _ in ports if host == "freud"} == {
        ("freud", 9100),
        ("freud", 9394),
        ("freud", 4000),
        ("freud", 4001),
    }
    assert len(ports) == len(set((host, port) for host, port, _ in ports)), "a port is listed twice on a host"
    assert all(purpose for _, _, purpose in ports)


def test_every_exporter_listens_on_its_private_address_only(fleet):
    """The address each rendered file tells its exporter to listen on is the host's private one,
    on the port Prometheus scrapes; nothing listens on every address."""
    for host in fleet.hosts:
        private = str(host.private_address)
        ports = {port for name, port, _ in exporter_ports(fleet) if name == host.name}
        rendered = host_files(fleet, host, SecretValues())
        texts = [
            item.content
            for item in rendered
            if item.path.startswith("/etc/default/") or item.path.endswith("mastodon-prometheus-exporter.service")
        ]
        listening = set()
        for text in texts:
            for match in re.finditer(r"listen-address=([\d.]+):(\d+)", text):
                listening.add((match[1], int(match[2])))
            for match in re.finditer(r" -p (\d+) -b ([\d.]+)", text):
                listening.add((match[2], int(match[1])))
            host_line, port_line = re.search(r"^HOST=(.*)$", text, re.M), re.search(r"^PORT=(\d+)$", text, re.M)
            if host_line and port_line:
                listening.add((host_line[1], int(port_line[1])))
        streaming = set(host.streaming.ports) if host.streaming else set()
        assert listening == {(private, port) for port in ports - streaming}, host.name
        for item in rendered:
            assert "0.0.0.0" not in item.content and "=:9" not in item.content, f"{host.name}: {item.path}"
    stub_status = exporters.nginx_metrics_file(fleet.host("nixie")).content
    assert f"listen 127.0.0.1:{exporters.NGINX_STATUS_PORT};" in stub_status


def test_without_a_monitor_host_nothing_is_exported():
    hosts, common = default_fleet_data()
    for host in hosts:
        host["groups"] = [group for group in host["groups"] if group != "monitor"]
    common["monitoring"] = {}  # no monitoring on purpose: its settings would be refused without the host
    fleet = build(hosts, common)
    assert fleet.monitor_host is None
    assert metrics_endpoints(fleet) == []
    for host in fleet.hosts:
        assert registry.by_name("exporters").files(fleet, host, SecretValues()) == []
        assert mastodon_exporter.files_for(fleet, host, SecretValues()) == []
        for item in host_files(fleet, host, SecretValues()):
            assert "PROMETHEUS_EXPORTER" not in item.content, item.path
    monitored = build(*default_fleet_data())
    keys = environment_keys(render_environment(monitored, SecretValues()))
    assert {"MASTODON_PROMETHEUS_EXPORTER_ENABLED", "MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS"} <= set(
        keys
    )


def test_puma_and_sidekiq_report_to_the_exporter_of_their_own_host(fleet):
    for name in APP_HOSTS:
        host = fleet.host(name)
        units = [
            item
            for item in host_files(fleet, host, SecretValues())
            if re.search(r"/mastodon-(web|sidekiq-[a-z-]+)\.service$", item.path)
        ]
        assert len(units) == 1 + len(host.sidekiq)
        for item in units:
            assert f'Environment="PROMETHEUS_EXPORTER_HOST={host.private_address}"' in item.content, item.path
            assert 'Environment="PROMETHEUS_EXPORTER_PORT=9394"' in item.content, item.path


# --- the rules about monitoring -----------------------------------------------------------------


def test_two_monitor_hosts_are_refused():
    hosts, common = default_fleet_data()
    next(host for host in hosts if host["name"] == "esme")["groups"].append("monitor")
    problems, _ = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("fleet", "roles")]
    assert "2 hosts have the role monitor (nixie, esme)" in problems[0].message


@pytest.mark.parametrize(
    ("alertmanager", "field", "message"),
    [
        ({"enabled": True, "receivers": []}, "alertmanager.receivers", "has nowhere to send alerts"),
        ({"enabled": True, "receivers": [{"name": "pager"}]}, "alertmanager.receivers[pager]", "sends nothing"),
        (
            {
                "enabled": True,
                "receivers": [{"name": "a", "email_to": "a@x.example"}, {"name": "a", "email_to": "b@x.example"}],
            },
            "alertmanager.receivers[a]",
            "two receivers share a name",
        ),
    ],
)
def test_alertmanager_without_a_usable_receiver_is_refused(alertmanager, field, message):
    hosts, common = default_fleet_data()
    common["monitoring"] = {"alertmanager": alertmanager}
    problems, _ = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("monitoring", field)]
    assert message in problems[0].message


def test_email_receivers_need_smtp_and_unknown_queues_are_refused():
    hosts, common = default_fleet_data()
    del common["smtp"]
    common["monitoring"] = {**common["monitoring"], "sidekiq_latency_seconds": {"ingres": 60}}
    problems, text = problems_of(hosts, common, secrets=SECRET_NAMES - {"smtp_password"})
    assert {(problem.where, problem.field) for problem in problems} == {
        ("monitoring", "alertmanager.receivers[operators].email_to"),
        ("monitoring", "sidekiq_latency_seconds.ingres"),
    }
    assert "unknown queue 'ingres'" in text


# --- Alertmanager ---------------------------------------------------------------------------------


def test_amtool_accepts_the_alertmanager_configuration_with_a_webhook(tmp_path):
    hosts, common = default_fleet_data()
    receivers = [
        {"name": "operators", "email_to": "ops@hachyderm.example"},
        {"name": "chat", "webhook_url": "secret:alert_webhook_url"},
    ]
    common["monitoring"] = {"alertmanager": {"enabled": True, "receivers": receivers, "repeat_hours": 2}}
    fleet = build(hosts, common, secrets=SECRET_NAMES | {"alert_webhook_url"})
    assert "alert_webhook_url" in fleet.referenced_secrets()
    values = {name: f"canary-{name}" for name in SECRET_NAMES} | {
        "alert_webhook_url": "https://chat.example/hook?t=canary&x=1"
    }
    files = {
        item.path: item for item in monitoring.alertmanager_files(fleet, fleet.host("nixie"), SecretValues(values))
    }
    configuration = files[monitoring.ALERTMANAGER_CONFIGURATION]
    assert configuration.sensitive and (configuration.mode, configuration.group) == ("640", "prometheus")
    assert '"https://chat.example/hook?t=canary&x=1"' in configuration.content
    (tmp_path / "alertmanager.yml").write_text(configuration.content)
    result = subprocess.run(
        [require("amtool"), "check-config", str(tmp_path / "alertmanager.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 receivers" in result.stdout
    masked = monitoring.alertmanager_files(fleet, fleet.host("nixie"), SecretValues())[1].content
    assert "canary" not in masked and "<secret:alert_webhook_url>" in masked
    arguments = files[f"/etc/default/{monitoring.ALERTMANAGER}"].content
    assert '--cluster.listen-address="' in arguments  # empty: no gossip port on every address


def split_redis_fleet():
    """The default fleet with the cache and the Sidekiq Redis of their own, both on nixie."""
    hosts, common = default_fleet_data()
    next(host for host in hosts if host["name"] == "nixie")["groups"] += ["redis_cache", "redis_sidekiq"]
    common["redis_cache"] = {"maxmemory_mb": 64}
    common["redis_sidekiq"] = {}
    return build(hosts, common)


def test_every_redis_server_is_scraped_through_the_hosts_one_redis_exporter():
    fleet = split_redis_fleet()
    import yaml

    (job,) = [job for job in yaml.safe_load(scrape_targets_text(fleet))["scrape_configs"] if job["job_name"] == "redis"]
    assert job["metrics_path"] == "/scrape"
    seen = [(group["targets"], group["labels"]) for group in job["static_configs"]]
    assert seen == [
        (
            ["10.0.1.2:9121"],
            {
                "host": "nixie",
                "instance": f"10.0.1.2:{port}",
                "__param_target": f"redis://127.0.0.1:{port}",
                "redis": name,
                "evicting": evicting,
            },
        )
        for name, port, evicting in (("main", 6379, "no"), ("cache", 6380, "yes"), ("sidekiq", 6381, "no"))
    ]
    redis_ports = [item for item in exporter_ports(fleet) if item[1] == 9121]
    assert len(redis_ports) == 1 and "cache Redis" in redis_ports[0][2]  # one port for the firewall


def test_the_redis_passwords_are_in_a_file_only_the_exporter_reads():
    fleet = split_redis_fleet()
    values = {"redis_password": 'p"w\\d', "cache_redis_password": "cache-pw", "sidekiq_redis_password": "queue-pw"}
    files = {item.path: item for item in registry.by_name("exporters").files(fleet, fleet.host("nixie"), SecretValues(values))}
    passwords = files[exporters.REDIS_PASSWORDS]
    assert passwords.sensitive and (passwords.mode, passwords.user, passwords.group) == ("640", "root", "prometheus")
    # keyed as redis_exporter looks them up once -redis.user is set: the user in the address
    assert json.loads(passwords.content) == {
        "redis://mastodon@127.0.0.1:6379": 'p"w\\d',
        "redis://mastodon@127.0.0.1:6380": "cache-pw",
        "redis://mastodon@127.0.0.1:6381": "queue-pw",
    }
    arguments = files["/etc/default/prometheus-redis-exporter"]
    assert not arguments.sensitive and f"-redis.password-file={exporters.REDIS_PASSWORDS} " in arguments.content
    assert "-redis.user=mastodon " in arguments.content  # Redis's default user is off
    assert "pw" not in arguments.content  # no password on a command line or in the environment
    masked = {item.path: item for item in registry.by_name("exporters").files(fleet, fleet.host("nixie"), SecretValues())}
    assert "<secret:sidekiq_redis_password>" in masked[exporters.REDIS_PASSWORDS].content


def test_promtool_accepts_the_split_redis_scrape_configuration(tmp_path):
    fleet = split_redis_fleet()
    (tmp_path / "rules").mkdir()
    render_rules(fleet, tmp_path / "rules")
    text = scrape_targets_text(fleet).replace(monitoring.RULES_DIRECTORY, str(tmp_path / "rules"))
    (tmp_path / "prometheus.yml").write_text(text)
    result = subprocess.run(
        [require("promtool"), "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- nginx's metrics log, counted by mtail ------------------------------------------------------


def test_mtail_counts_answers_and_upstream_errors(tmp_path):
    programs = tmp_path / "programs"
    programs.mkdir()
    (programs / "nginx.mtail").write_text(render("exporters/nginx.mtail.j2"))
    log_format = re.search(
        r"log_format mastofleet_metrics '(.*)';",
        exporters.nginx_metrics_file(build(*default_fleet_data()).host("nixie")).content,
    )
    assert log_format and log_format[1] == '"$server_name" $status "$upstream_status" $request_time'
    (tmp_path / "metrics.log").write_text(
        '"hachyderm.example" 200 "200" 0.010\n'
        '"hachyderm.example" 200 "502, 200" 0.020\n'  # one app host refused, the next answered
        '"hachyderm.example" 502 "502, 502, 502" 0.030\n'
        '"hachyderm.example" 404 "-" 0.001\n'
        '"media.hachyderm.example" 504 "504" 60.001\n'
        '"" 400 "-" 0.000\n'
        "a line of another format\n"
    )
    result = subprocess.run(
        [
            require("mtail"),
            "--one_shot",
            "--one_shot_format=json",
            "--progs",
            str(programs),
            "--logs",
            str(tmp_path / "metrics.log"),
            "--logtostderr",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    counts: dict[tuple[str, ...], float] = {}
    for metric in json.loads(result.stdout[result.stdout.index("{") :]).values():
        for item in metric:
            for labels in item.get("LabelValues", []):
                counts[(item["Name"], *labels["Labels"])] = labels["Value"]["Value"]
    assert counts == {
        ("nginx_http_requests_total", "hachyderm.example", "200"): 2,
        ("nginx_http_requests_total", "hachyderm.example", "502"): 1,
        ("nginx_http_requests_total", "hachyderm.example", "404"): 1,
        ("nginx_http_requests_total", "media.hachyderm.example", "504"): 1,
        ("nginx_http_requests_total", "", "400"): 1,
        ("nginx_upstream_errors_total", "hachyderm.example"): 2,
        ("nginx_upstream_errors_total", "media.hachyderm.example"): 1,
    }


# --- the textfile metrics -------------------------------------------------------------------------


def test_the_textfile_script_writes_metrics_promtool_accepts(tmp_path):
    """Run here as rendered for an lb host (its directory moved to tmp): once without nft, once with
    an nft that reports a ruleset of three rules and an nginx whose configuration serves a
    certificate expiring in two days (and names one that does not exist and one by variable)."""
    fleet = build(*default_fleet_data())
    certificate = tmp_path / "site.crt"
    subprocess.run(
        [require("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=x.example"]
        + ["-keyout", str(tmp_path / "site.key"), "-out", str(certificate)],
        check=True,
        capture_output=True,
    )
    script = render(
        "exporters/textfile-metrics.sh.j2", host=fleet.host("nixie"), textfile_directory=str(tmp_path), nginx=True
    )
    (tmp_path / "textfile-metrics").write_text(script)
    (tmp_path / "bin").mkdir()
    for tool in ("sh", "cat", "mktemp", "grep", "wc", "date", "chmod", "mv", "rm", "openssl", "awk", "sort"):
        (tmp_path / "bin" / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")

    def fake(tool: str, output: str) -> None:
        (tmp_path / "bin" / tool).write_text(f"#!/bin/sh\ncat <<'END'\n{output}\nEND\n")
        (tmp_path / "bin" / tool).chmod(0o755)

    def run() -> str:
        subprocess.run(["sh", str(tmp_path / "textfile-metrics")], env={"PATH": str(tmp_path / "bin")}, check=True)
        text = (tmp_path / "mastofleet.prom").read_text()
        checked = subprocess.run([require("promtool"), "check", "metrics"], input=text, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        return text

    without_nft = run()
    assert "mastofleet_nftables_rules 0\n" in without_nft and "mastofleet_nftables_installed 0\n" in without_nft
    assert "mastofleet_tls_certificate_expiry_seconds{" not in without_nft  # no nginx: nothing to read
    fake(
        "nft",
        '{"nftables": [{"metainfo": {}}, {"table": {}}, {"chain": {}}, {"rule": {}}, {"rule": {}}, {"rule": {}}]}',
    )
    fake(
        "nginx",
        f"server {{\n  ssl_certificate     {certificate};\n  # ssl_certificate /commented/out.crt;\n"
        f"  ssl_certificate {tmp_path}/missing.crt;\n  ssl_certificate $ssl_server_name.crt;\n}}",
    )
    with_nft = run()
    assert "mastofleet_nftables_rules 3\n" in with_nft and "mastofleet_nftables_installed 1\n" in with_nft
    expiries = re.findall(r'^mastofleet_tls_certificate_expiry_seconds\{path="([^"]+)"\} (\d+)$', with_nft, re.M)
    assert [path for path, _ in expiries] == [str(certificate)]
    assert abs(int(expiries[0][1]) - (time.time() + 2 * 86400)) < 600
    written = re.search(r"^mastofleet_textfile_timestamp_seconds (\d+)$", with_nft, re.M)
    assert written and abs(int(written[1]) - time.time()) < 60
    assert not [path for path in os.listdir(tmp_path) if path.startswith(".mastofleet.prom.")]  # no temporary left


def test_certificates_are_read_where_nginx_runs(fleet):
    def script(name: str) -> str:
        return next(item.content for item in exporters.textfile_files(fleet, fleet.host(name)) if item.mode == "755")

    assert "nginx -T" in script("nixie") and "nginx -T" in script("esme")
    assert "nginx" not in script("freud")
