"""The real `mastofleet` console script, run as the operator runs it (a subprocess, cwd = the project).

Exit codes are part of the interface: 0 done, 1 the fleet has problems, 2 bad input.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_builder import APP_HOSTS, REPO, SECRET_NAMES, addresses, build, default_fleet_data, group_data

from mastofleet.deploys import base, operators, registry
from mastofleet.model.problems import Problem
from mastofleet.model.secrets_reference import MASTODON_SECRETS, environment_variable
from mastofleet.plan.files import SecretValues

SCRIPT = Path(sys.executable).with_name("mastofleet")  # installed next to the interpreter running the tests
INVENTORY = "inventories/hetzner.py"
CANARY = "canary-7f3a9c"  # a value no rendered file may ever contain


def mastofleet(*arguments: str, cwd: Path = REPO, environment: dict[str, str] | None = None):
    env = {key: value for key, value in os.environ.items() if not key.startswith("MASTOFLEET_")}
    env.update(environment or {})
    return subprocess.run(
        [str(SCRIPT), *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_console_script_is_installed():
    assert SCRIPT.is_file(), f"{SCRIPT} missing: install the package (pip install -e .)"


# --- check ------------------------------------------------------------------------------------


def sidekiq_line(process: dict) -> str:
    """How `check` shows a Sidekiq process, worked out from group_data/app.py's compact forms."""
    queues = []
    for queue in process["queues"]:
        name, weight = (queue, 1) if isinstance(queue, str) else queue
        queues.append(name if weight == 1 else f"{name}:{weight}")
    pool = process.get("db_pool") or process["threads"]
    return f"sidekiq {process['name']} [{','.join(queues)}] c{process['threads']} pool{pool}"


def test_check_prints_every_host_every_sidekiq_process_and_the_connection_total():
    result = mastofleet("check", INVENTORY)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "fleet hachyderm: hachyderm.example, Mastodon v4.6.5, 5 hosts"
    rows = {line.split()[0]: line for line in lines[3:] if line and not line.startswith(" ")}
    assert set(rows) >= {"nixie", "freud", "fritz", "franz", "esme"}
    servers = addresses()
    for name in ("nixie", "freud", "fritz", "franz", "esme"):
        assert servers[name]["private_address"] in rows[name]
    assert rows["nixie"].split()[1] == "db,lb,monitor,redis"
    layout = group_data("app")["sidekiq_layout"]
    for host in APP_HOSTS:
        for process in layout[host]:
            assert any(line.strip().endswith(sidekiq_line(process)) for line in lines), sidekiq_line(process)
    sidekiq_lines = [line for line in lines if line.strip().startswith("sidekiq ")]
    assert len(sidekiq_lines) == sum(len(layout[host]) for host in APP_HOSTS)
    (total,) = [line for line in lines if line.startswith("database connections: ")]
    assert total.startswith("database connections: 165 of 1000 (freud 50 (web 2x5 + ")
    assert total.endswith("= 165 against pgbouncer max_client_connections 1000)")
    # One Redis holds everything, and its connection estimate says so by purpose.
    (redis,) = [line for line in lines if line.startswith("redis ")]
    assert redis.startswith("redis main on nixie 10.0.1.2:6379 [feeds, streaming pub/sub, Rails cache, Sidekiq queues]")
    assert redis.endswith("main 117 + cache 105 + sidekiq 265 = 487 of maxclients 10000")
    assert lines[-1] == "search: off (no host in 'search', no search.external_host)"


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The project's data (group_data/, inventories/, secrets/) in a tmp directory; the code stays installed."""
    for directory in ("group_data", "inventories", "secrets"):
        shutil.copytree(REPO / directory, tmp_path / directory)
    return tmp_path


def test_check_listeners_prints_what_listens_where():
    result = mastofleet("check", "--listeners", INVENTORY)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["host", "address", "port", "protocol", "service", "reachable", "from"]
    assert "freud  10.0.1.3  3000  tcp       puma               esme, nixie" in lines


def test_check_refuses_a_typo_of_a_role_and_a_host_pasted_twice(project_copy: Path):
    inventory = project_copy / INVENTORY
    text = inventory.read_text()
    inventory.write_text(text.replace("edge = [_esme]", "edges = [_esme]"))
    result = mastofleet("check", INVENTORY, cwd=project_copy)
    assert result.returncode == 1
    assert "inventory: group edges: `edges` is not a role; did you mean `edge`? (hosts esme are in it)" in result.stderr
    pasted = text.replace('_franz = _hetzner.host("franz", "10.0.1.5"', '_franz = _hetzner.host("fritz", "10.0.1.5"')
    inventory.write_text(pasted)
    result = mastofleet("check", INVENTORY, cwd=project_copy)
    assert result.returncode == 1
    assert "`fritz` is defined twice in hetzner.py, at line 17 column 10 and at line 18 column 10" in result.stderr


def test_check_refuses_puma_on_an_exporter_port(project_copy: Path):
    with (project_copy / "group_data" / "app.py").open("a") as app:
        app.write('\nweb = {**web, "port": 9100}\n')
    result = mastofleet("check", INVENTORY, cwd=project_copy)
    assert result.returncode == 1
    assert "freud: port 9100/tcp: puma and metrics node would both listen on port 9100" in result.stderr


def test_check_of_a_broken_fleet_exits_1_and_lists_every_problem(project_copy: Path):
    assert mastofleet("check", INVENTORY, cwd=project_copy).returncode == 0  # the copy itself is fine
    with (project_copy / "group_data" / "app.py").open("a") as app:
        app.write('\nsidekiq_layout["fritz"][1]["queues"].append("scheduler")\n')
    with (project_copy / "group_data" / "all.py").open("a") as common:
        common.write('\ninstance["version"] = "latest"\n')

    result = mastofleet("check", INVENTORY, cwd=project_copy)

    assert result.returncode == 1
    assert result.stdout == ""
    expected = [
        Problem(
            "fleet",
            "sidekiq.queues",
            "2 processes listen on 'scheduler' (freud/scheduler, fritz/ingress); scheduled jobs would run several times",
            "keep 'scheduler' on exactly one process",
        ),
        Problem("instance", "version", "'latest' is not a Mastodon release tag", "write a tag like v4.6.5"),
    ]
    assert result.stderr.splitlines() == [
        "mastofleet: the fleet has 2 problem(s):",
        *(f"  - {problem}" for problem in expected),
    ]


def test_check_of_a_missing_inventory_exits_2(tmp_path: Path):
    missing = tmp_path / "nowhere.py"
    result = mastofleet("check", str(missing))
    assert result.returncode == 2
    assert result.stderr == f"mastofleet: {missing}: no such inventory file\n"


def test_check_of_an_inventory_with_a_syntax_error_exits_2(project_copy: Path):
    broken = project_copy / "inventories" / "broken.py"
    broken.write_text('app = [("freud", {"private_address": "10.0.1.3"}\n')
    result = mastofleet("check", "inventories/broken.py", cwd=project_copy)
    assert result.returncode == 2
    assert result.stderr.startswith("mastofleet: inventories/broken.py: cannot read the inventory")
    assert "Traceback" not in result.stderr


def test_check_of_an_inventory_that_fails_while_loading_exits_2(project_copy: Path):
    """The inventory runs but raises (its state file is missing): bad input, exit 2, no traceback."""
    result = mastofleet(
        "check", INVENTORY, cwd=project_copy, environment={"MASTOFLEET_HETZNER_STATE": "/nonexistent/state.json"}
    )
    assert result.returncode == 2
    assert "cannot read the inventory" in result.stderr
    assert "Traceback" not in result.stderr


# --- render -----------------------------------------------------------------------------------


def base_files() -> set[str]:
    """The files every host gets, whatever it is: the base role's (journald, apt, locale ...), the
    operators' (sshd, sudoers) and the firewall's (its table and unit)."""
    fleet = build(*default_fleet_data())
    host = fleet.host("esme")
    return {
        item.path.lstrip("/")
        for role in (base.COMPONENT, operators.COMPONENT, registry.by_name("firewall"))
        for item in role.files(fleet, host, SecretValues())
    }


# Every host of a fleet with a monitor host: node_exporter and the textfile metrics timer.
BASE = base_files() | {
    "etc/default/prometheus-node-exporter",
    "usr/local/lib/mastofleet/textfile-metrics",
    "etc/systemd/system/mastofleet-textfile-metrics.service",
    "etc/systemd/system/mastofleet-textfile-metrics.timer",
}
NGINX_METRICS = {
    "etc/nginx/conf.d/00-mastofleet-metrics.conf",
    "etc/default/prometheus-nginx-exporter",
    "etc/default/mtail",
    "etc/mtail/nginx.mtail",
}
APPLICATION = {
    "etc/mastodon/env.production",
    "etc/systemd/system/mastodon-web.service",
    "etc/systemd/system/mastodon-streaming@.service",
    "etc/systemd/system/mastodon-streaming.service",
    "etc/systemd/system/mastodon-prometheus-exporter.service",
}
SIDEKIQ = {
    "freud": {"default", "ingress", "scheduler"},
    "fritz": {"default", "ingress", "pull"},
    "franz": {"push", "pull", "mailers", "ingress"},
}
EXPECTED_FILES = {
    "nixie": BASE
    | {
        "etc/postgresql/17/main/conf.d/50-mastofleet.conf",
        "etc/postgresql/17/main/pg_hba.conf",
        "etc/pgbouncer/pgbouncer.ini",
        "etc/pgbouncer/userlist.txt",
        "etc/pgbouncer/pg_hba.conf",
        "etc/redis/redis.conf",
        # backups: pgBackRest and archiving, the backup unit and its timers, the Redis dump's upload
        "etc/pgbackrest/pgbackrest.conf",
        "etc/postgresql/17/main/conf.d/60-archive.conf",
        "etc/systemd/system/mastofleet-backup@.service",
        "etc/systemd/system/mastofleet-backup-full.timer",
        "etc/systemd/system/mastofleet-backup-diff.timer",
        "etc/mastofleet/backup-files.env",
        "etc/systemd/system/mastofleet-backup-files.service",
        "etc/systemd/system/mastofleet-backup-files.timer",
        # the site as served, and one variant per app host with that host drained for its restart
        "etc/nginx/mastofleet/serving.conf",
        *(f"etc/nginx/mastofleet/drained-{host}.conf" for host in ("freud", "fritz", "franz")),
        # and the maintenance page a cutover serves
        "etc/nginx/mastofleet/maintenance.conf",
        "etc/default/prometheus-postgres-exporter",
        "etc/default/prometheus-pgbouncer-exporter",
        "etc/default/prometheus-redis-exporter",
        "etc/prometheus-redis-exporter/passwords.json",
        "etc/default/prometheus",
        "etc/prometheus/prometheus.yml",
        "etc/prometheus/rules/mastofleet-hosts.yml",
        "etc/prometheus/rules/mastofleet-nginx.yml",
        "etc/prometheus/rules/mastofleet-databases.yml",
        "etc/prometheus/rules/mastofleet-mastodon.yml",
        "etc/default/prometheus-alertmanager",
        "etc/prometheus/alertmanager.yml",
    }
    | NGINX_METRICS,
    **{
        host: BASE | APPLICATION | {f"etc/systemd/system/mastodon-sidekiq-{name}.service" for name in units}
        for host, units in SIDEKIQ.items()
    },
    # the edge role: nginx's site and TLS include (no migration mode in the Hetzner fleet's group_data)
    "esme": BASE | NGINX_METRICS | {"etc/nginx/conf.d/mastofleet-edge.conf", "etc/nginx/mastofleet-edge-tls.conf"},
}
ENVIRONMENT_FILE = "etc/mastodon/env.production"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    """`mastofleet render` of the Hetzner fleet, with every secret's real value set in the environment
    (a canary): masking must hold even when the values are at hand."""
    output = tmp_path_factory.mktemp("render") / "out"
    values = {environment_variable(name): f"{CANARY}-{name}" for name in SECRET_NAMES}
    result = mastofleet("render", INVENTORY, str(output), environment=values)
    assert result.returncode == 0, result.stderr
    return output, result


def files_of(output: Path, host: str) -> set[str]:
    return {str(path.relative_to(output / host)) for path in (output / host).rglob("*") if path.is_file()}


def test_render_reports_what_it_wrote(rendered):
    output, result = rendered
    count = sum(len(files) for files in EXPECTED_FILES.values())
    assert result.stdout == f"wrote {count} files for 5 hosts into {output} (secrets masked)\n"
    assert sorted(path.name for path in output.iterdir()) == sorted(EXPECTED_FILES)


@pytest.mark.parametrize("host", list(EXPECTED_FILES))
def test_render_writes_exactly_the_files_of_each_host(rendered, host):
    output, _ = rendered
    assert files_of(output, host) == EXPECTED_FILES[host]


def test_render_writes_the_sidekiq_units_of_group_data(rendered):
    output, _ = rendered
    layout = group_data("app")["sidekiq_layout"]
    for host in APP_HOSTS:
        units = {path.name for path in (output / host / "etc/systemd/system").glob("mastodon-sidekiq-*.service")}
        assert units == {f"mastodon-sidekiq-{process['name']}.service" for process in layout[host]}
    assert not list((output / "nixie" / "etc/systemd/system").glob("mastodon-*"))


def test_pg_hba_admits_exactly_the_app_hosts(rendered):
    output, _ = rendered
    text = (output / "nixie" / "etc/postgresql/17/main/pg_hba.conf").read_text()
    network_rules = [line.split() for line in text.splitlines() if line.startswith("host ")]
    remote = [rule for rule in network_rules if rule[3] not in ("127.0.0.1/32", "::1/128")]
    servers = addresses()
    assert sorted(rule[3] for rule in remote) == sorted(f"{servers[host]['private_address']}/32" for host in APP_HOSTS)
    assert {(rule[1], rule[2], rule[4]) for rule in remote} == {("mastodon_production", "mastodon", "scram-sha-256")}


def test_environment_is_identical_on_every_app_host(rendered):
    output, _ = rendered
    contents = {host: (output / host / ENVIRONMENT_FILE).read_bytes() for host in APP_HOSTS}
    assert len(set(contents.values())) == 1, "the .env.production files differ between app hosts"


def test_environment_carries_placeholders_for_every_secret(rendered):
    output, _ = rendered
    lines = (output / "freud" / ENVIRONMENT_FILE).read_text().splitlines()
    expected = {key: f"<secret:{name}>" for key, name in MASTODON_SECRETS.items()}
    expected |= {
        "DB_PASS": "<secret:postgres_password>",
        "REDIS_PASSWORD": "<secret:redis_password>",
        "AWS_ACCESS_KEY_ID": "<secret:object_storage_access_key>",
        "AWS_SECRET_ACCESS_KEY": "<secret:object_storage_secret_key>",
        "SMTP_PASSWORD": "<secret:smtp_password>",
    }
    for key, placeholder in expected.items():
        assert f"{key}={placeholder}" in lines


def test_service_files_carry_placeholders(rendered):
    output, _ = rendered
    redis = (output / "nixie/etc/redis/redis.conf").read_text()
    masked_hash = hashlib.sha256(b"<secret:redis_password>").hexdigest()
    assert f"user mastodon on #{masked_hash} " in redis and "user default off" in redis
    assert (output / "nixie/etc/pgbouncer/userlist.txt").read_text() == '"mastodon" "<secret:postgres_password>"\n'


def test_no_secret_value_is_rendered(rendered):
    output, _ = rendered
    leaks = [str(path) for path in output.rglob("*") if path.is_file() and CANARY in path.read_text()]
    assert leaks == []
