"""Deploy plans without hosts: `deploy.py`'s logic against pyinfra's `@fake` connector.

The inventory mirrors `inventories/hetzner.py`: the same hosts, groups and group_data values
(`fleet_builder`), each host on the fake connector, every secret in MASTOFLEET_SECRET_* (canary values
that must never show up in a plan or a logged command). Nothing runs anywhere: facts come back empty
unless a test scripts a `fake_responses` answer, e.g. a marker file that exists.

Hosts are `@fake/<name>` (the fleet calls them `<name>`). Each host is planned in its own pyinfra
State through the API: in API mode pyinfra merges the operations of all hosts by position, so one
State per host keeps every operation name tied to the host that plans it. One test also runs the real
CLI, `pyinfra INVENTORY deploy.py --dry --json`, on the same fleet.

`run_record` registers an atexit hook that writes `runs/<id>.json` into the cwd using pyinfra's CLI
context; the tests switch that registration off (the per-host "Record this run" operation stays).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_builder import APP_HOSTS, GROUPS, REPO, default_fleet_data, group_data, host_data, process
from plans import (
    CANARY,
    DB_SETUP,
    HEALTHY_DISK,
    PRECOMPILE,
    RELEASE,
    SECRET_FILES,
    SECRET_VALUES,
    STEPS,
    Plan,
    as_user_script,
    existing_file,
    make_inventory,
    plan_host,
)
from pyinfra.api import Config, FileUploadCommand, State, StringCommand
from pyinfra.api.connect import connect_all
from pyinfra.api.deploy import add_deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.operations import run_ops
from pyinfra.context import ctx_inventory

from mastofleet.commands import main
from mastofleet.deploys import operations
from mastofleet.deploys.postgres import scram_verifier
from mastofleet.model.secrets_reference import environment_variable
from mastofleet.runtime import deployment, run_record
from mastofleet.views.disk_probe import MARKER


@pytest.fixture(scope="module")
def default_plans(tmp_path_factory):
    """The plan of every host of the default fleet; file uploads are recorded by the operation used."""
    uploads: dict[str, list[str]] = {"sensitive": [], "placed": []}
    real_placed = operations.placed_file

    def placed_spy(*arguments, **keywords):
        uploads["sensitive" if keywords.get("sensitive") else "placed"].append(keywords["path"])
        return real_placed(*arguments, **keywords)

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("plan"))
        patch.setattr(run_record, "_register_operator_record", lambda: None)
        for name, value in SECRET_VALUES.items():
            patch.setenv(environment_variable(name), value)
        patch.setattr(operations, "placed_file", placed_spy)
        hosts, common = default_fleet_data()
        plans = {name: plan_host(name, hosts, common) for name in GROUPS}
    return plans, uploads


# --- what goes where --------------------------------------------------------------------------

SIDEKIQ_UNIT = re.compile(r"^Mastodon Sidekiq \| Put /etc/systemd/system/(mastodon-sidekiq-[a-z-]+\.service)$")


def sidekiq_units(plan: Plan) -> set[str]:
    return {match[1] for name in plan.names if (match := SIDEKIQ_UNIT.match(name))}


def test_each_app_host_gets_exactly_its_sidekiq_units(default_plans):
    plans, _ = default_plans
    layout = group_data("app")["sidekiq_layout"]
    for host in APP_HOSTS:
        assert sidekiq_units(plans[host]) == {f"mastodon-sidekiq-{item['name']}.service" for item in layout[host]}
    with_scheduler = [
        host for host, plan in plans.items() if "mastodon-sidekiq-scheduler.service" in sidekiq_units(plan)
    ]
    assert with_scheduler == ["freud"]


def test_nixie_runs_no_mastodon_process_and_holds_no_release(default_plans):
    plans, _ = default_plans
    nixie = plans["nixie"].names
    assert not [name for name in nixie if name.startswith(("Mastodon ", "Post-deployment"))]
    assert not [name for name in nixie if "mastodon-sidekiq" in name or "/home/mastodon" in name]


@pytest.mark.parametrize("role", ["PostgreSQL |", "PgBouncer |", "Redis |", "nginx load balancer |"])
def test_only_nixie_gets_the_services(default_plans, role):
    plans, _ = default_plans
    assert [host for host, plan in plans.items() if any(name.startswith(role) for name in plan.names)] == ["nixie"]


def test_the_edge_host_gets_the_base_and_the_edge_without_migration(default_plans):
    """Besides the base, operators, firewall, the edge role and its exporters, the edge host only takes part in the rollout's
    turns and the meeting points (data services ready, retirement), where it does nothing; "No media migration" has nothing to
    remove on a fresh host."""
    plans, _ = default_plans
    esme = plans["esme"]
    assert {name.split(" | ")[0] for name in esme.names} == {
        "Base system",
        "Operators",
        "Firewall",
        "Edge caching proxy",
        "Rolling restart",
        "Retire app hosts",
        "PostgreSQL and Redis are ready",
        "Exporters",
        "Record this run on the host",
    }
    shared = ("Rolling restart", "Retire app hosts")
    assert not [name for name in esme.names if name.startswith(shared) and esme.commands(name)]


# --- releases, assets, database setup ---------------------------------------------------------


def test_assets_are_precompiled_for_a_release_without_its_marker(default_plans):
    plans, _ = default_plans
    for host in APP_HOSTS:
        assert PRECOMPILE.format("v4.6.5") in plans[host].names
        (command,) = plans[host].commands(PRECOMPILE.format("v4.6.5"))
        assert as_user_script(command.get_raw_value()) == (RELEASE, "bin/rails assets:precompile")
        arguments = plans[host].operation(PRECOMPILE.format("v4.6.5")).global_arguments
        assert arguments["_env"] == {"RAILS_ENV": "production", "SECRET_KEY_BASE_DUMMY": "1"}


def test_assets_are_not_precompiled_again_for_the_same_release(secrets_in_environment):
    hosts, common = default_fleet_data()
    plan = plan_host("freud", hosts, common, {"freud": existing_file(f"{STEPS}/assets")})
    assert not [name for name in plan.names if "assets:precompile" in name]
    assert "Mastodon release | bundle: /usr/bin/bundle install -j$(nproc) (v4.6.5)" in plan.names


def test_a_new_code_version_precompiles_again(secrets_in_environment):
    hosts, common = default_fleet_data()
    common["instance"]["version"] = "v4.6.6"  # new code: a new release directory without markers
    plan = plan_host("freud", hosts, common, {"freud": existing_file(f"{STEPS}/assets")})
    assert PRECOMPILE.format("v4.6.6") in plan.names
    assert "Mastodon release | Check out v4.6.6" in plan.names


def test_database_setup_and_migrations_only_on_the_first_app_host(default_plans):
    plans, _ = default_plans
    first = [host for host, plan in plans.items() if DB_SETUP in plan.names]
    assert first == ["freud"]
    (command,) = plans["freud"].commands(DB_SETUP)
    assert "bin/rails db:setup" in command.get_raw_value()
    pre = "Mastodon release | Migrate the database (pre-deployment migrations, v4.6.5)"
    post = "Post-deployment migrations | Migrate the database (all migrations, v4.6.5)"
    for name in (pre, post):
        assert [host for host, plan in plans.items() if name in plan.names] == ["freud"]
    environment = plans["freud"].operation(pre).global_arguments["_env"]
    assert environment == {
        "RAILS_ENV": "production",
        "DB_HOST": "10.0.1.2",
        "DB_PORT": "5432",  # straight to PostgreSQL: PgBouncer's transaction mode cannot migrate
        "SKIP_POST_DEPLOYMENT_MIGRATIONS": "true",
    }
    assert "SKIP_POST_DEPLOYMENT_MIGRATIONS" not in plans["freud"].operation(post).global_arguments["_env"]
    names = plans["freud"].names
    assert names.index(pre) < names.index("Rolling restart | Restart what freud owes")
    # Last of the application's steps: only the host's exporters and the run record come after it.
    after = names[names.index(post) + 1 :]
    assert after[-1] == "Record this run on the host"
    assert all(name.startswith("Exporters | ") for name in after[:-1]), after


def test_database_setup_is_not_planned_once_initialised(secrets_in_environment):
    hosts, common = default_fleet_data()
    plan = plan_host(
        "freud", hosts, common, {"freud": existing_file("/var/lib/mastofleet/release/database-initialised")}
    )
    assert DB_SETUP not in plan.names
    assert "Mastodon release | Migrate the database (pre-deployment migrations, v4.6.5)" in plan.names


def test_a_sidekiq_unit_no_longer_in_the_model_is_stopped_and_removed(secrets_in_environment):
    hosts, common = default_fleet_data()
    present = [
        "/etc/systemd/system/mastodon-sidekiq-scheduler.service",  # moved away from fritz
        "/etc/systemd/system/mastodon-sidekiq-default.service",
    ]
    responses = {"fritz": {re.compile(r"find /etc/systemd/system .*mastodon-sidekiq-"): present}}
    plan = plan_host("fritz", hosts, common, responses)
    removed = [
        name for name in plan.names if "no longer in the model" in name or name.startswith("Mastodon Sidekiq | Remove")
    ]
    assert removed == [
        "Mastodon Sidekiq | Stop mastodon-sidekiq-scheduler.service (no longer in the model)",
        "Mastodon Sidekiq | Remove mastodon-sidekiq-scheduler.service",
    ]


# --- secrets stay out of plans and logs -------------------------------------------------------


def test_secret_bearing_files_are_placed_as_sensitive(default_plans):
    plans, uploads = default_plans
    assert set(uploads["sensitive"]) >= SECRET_FILES
    assert not SECRET_FILES & set(uploads["placed"])
    assert "/etc/systemd/system/mastodon-web.service" in uploads["placed"]
    put_secret_files = {
        (host, path)
        for host, plan in plans.items()
        for name in plan.names
        for path in SECRET_FILES
        if name.endswith(f"Put {path} (secret, not shown)")
    }
    assert put_secret_files == {
        ("nixie", "/etc/pgbouncer/userlist.txt"),
        ("nixie", "/etc/redis/redis.conf"),
    } | {(host, "/etc/mastodon/env.production") for host in APP_HOSTS}


def plan_document(plan: Plan) -> list[dict]:
    """What a plan shows an operator: names, arguments and the (masked) commands."""
    document = []
    for name, data in plan.operations:
        commands = []
        for command in plan.commands_of(data):
            if isinstance(command, StringCommand):
                commands.append(command.get_masked_value())
            else:
                commands.append(repr(command))
        arguments = {key: repr(value) for key, value in data.global_arguments.items()}
        document.append({"name": name, "arguments": arguments, "commands": commands})
    return document


def test_no_secret_value_appears_in_any_plan(default_plans):
    plans, _ = default_plans
    uploaded = plans["freud"].uploaded("Mastodon release | Put /etc/mastodon/env.production (secret, not shown)")
    assert f"DB_PASS={SECRET_VALUES['postgres_password']}" in uploaded  # the canaries are in play
    for host, plan in plans.items():
        text = json.dumps(plan_document(plan))
        assert CANARY not in text, host
        for name, command in plan.all_commands():
            if isinstance(command, StringCommand):
                assert CANARY not in command.get_raw_value(), name  # not even unmasked
            elif isinstance(command, FileUploadCommand) and CANARY in command.src.getvalue():
                assert name.endswith("(secret, not shown)"), name


def test_the_role_password_command_carries_no_password(default_plans):
    plans, _ = default_plans
    (command,) = plans["nixie"].commands("PostgreSQL | Set the password of the mastodon role (not shown)")
    verifier = scram_verifier("mastodon", SECRET_VALUES["postgres_password"])
    assert verifier in command.get_raw_value()  # what psql runs: the verifier, never the password
    masked = command.get_masked_value()
    assert 'ALTER ROLE "mastodon" PASSWORD' in masked
    assert verifier not in masked and "SCRAM-SHA-256" not in masked and CANARY not in masked


def test_running_the_plan_logs_no_secret(secrets_in_environment, caplog, capfd):
    hosts, common = default_fleet_data()
    caplog.set_level(logging.DEBUG)
    for name in ("nixie", "freud"):
        plan = plan_host(name, hosts, common)
        run_ops(plan.state)
        executed = plan.host.connector.executed_commands
        assert any('ALTER ROLE "mastodon" PASSWORD' in command for command in executed) == (name == "nixie")
        assert not [command for command in executed if CANARY in command]
        assert plan.state.results[plan.host].success_ops == len(plan.names)
    captured = capfd.readouterr()
    assert CANARY not in caplog.text + captured.out + captured.err


# --- a bad fleet is refused before anything is planned -----------------------------------------


def refused_deploy(hosts, common):  # type: ignore[no-untyped-def]
    """Plan the deploy of a fleet that must be refused: pyinfra's error message, and the state and
    inventory, to show that nothing was planned."""
    deployment._fleet_and_secrets.cache_clear()
    inventory = make_inventory(hosts, common)
    state = State(inventory=inventory, config=Config())
    connect_all(state)
    with pytest.raises(PyinfraError) as raised, ctx_inventory.use(inventory):
        add_deploy(state, deployment.deploy_current_host)
    return str(raised.value), state, inventory


def test_a_bad_fleet_refuses_to_deploy_before_planning_anything(secrets_in_environment):
    hosts, common = default_fleet_data()
    process(hosts, "fritz", "ingress")["queues"].append("scheduler")
    message, state, inventory = refused_deploy(hosts, common)
    assert message.startswith("mastofleet refuses to deploy: the fleet has 1 problem(s):")
    assert "fleet: sidekiq.queues: 2 processes listen on 'scheduler' (freud/scheduler, fritz/ingress)" in message
    assert state.op_meta == {}
    assert all(host.op_hash_order == [] for host in inventory)


def test_two_services_on_one_port_refuse_to_deploy(secrets_in_environment):
    """The listener clash `mastofleet check` reports stops a deploy too, before anything is planned."""
    hosts, common = default_fleet_data()
    freud = host_data(hosts, "freud")
    freud["web"] = {**freud["web"], "port": 9100}  # the node exporter's port
    message, state, inventory = refused_deploy(hosts, common)
    assert "port 9100/tcp: puma and metrics node would both listen on port 9100" in message
    assert state.op_meta == {}
    assert all(host.op_hash_order == [] for host in inventory)


def test_each_inventory_is_validated_on_its_own(secrets_in_environment):
    hosts, common = default_fleet_data()
    plan_host("freud", hosts, common)  # a good fleet first, as a long-lived process would
    process(hosts, "fritz", "ingress")["queues"].append("scheduler")
    inventory = make_inventory(hosts, common)
    state = State(inventory=inventory, config=Config())
    connect_all(state)
    with pytest.raises(PyinfraError, match="refuses to deploy"), ctx_inventory.use(inventory):
        add_deploy(state, deployment.deploy_current_host)


# --- the same through pyinfra's own CLI ---------------------------------------------------------

FAKE_INVENTORY = """\
import re

FAKE = {{
    "fake_delay": 0,
    "fake_delay_jitter": 0,
    "fake_responses": {{
        "uname -s": "Linux",
        re.compile(r"command -v (useradd|usermod|groupadd)"): "/usr/sbin/x",
        {marker!r}: {probe!r},
    }},
}}
ADDRESSES = {addresses!r}


def _host(name):
    return (f"@fake/{{name}}", {{**FAKE, "private_address": ADDRESSES[name], "public_address": None}})


db = [_host("nixie")]
redis = [_host("nixie")]
lb = [_host("nixie")]
app = [_host("freud"), _host("fritz"), _host("franz")]
edge = [_host("esme")]
monitor = [_host("nixie")]
"""


def pyinfra_dry_json(project: Path, more_secrets: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return pyinfra_cli(project, "--dry", "--json", more_secrets=more_secrets)


def pyinfra_cli(
    project: Path, *options: str, more_secrets: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`pyinfra inventory.py deploy.py OPTIONS` in `project`, every secret a canary in the environment."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MASTOFLEET_")}
    secrets = {**SECRET_VALUES, **(more_secrets or {})}
    environment |= {environment_variable(name): value for name, value in secrets.items()}
    return subprocess.run(
        [str(Path(sys.executable).with_name("pyinfra")), "inventory.py", str(REPO / "deploy.py"), *options],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def make_fake_project(directory: Path) -> Path:
    """A project directory with the real group_data (all, app) and an inventory of @fake hosts."""
    (directory / "group_data").mkdir()
    for name in ("all", "app"):
        shutil.copy(REPO / "group_data" / f"{name}.py", directory / "group_data" / f"{name}.py")
    hosts, _ = default_fleet_data()
    addresses = {host["name"]: host["data"]["private_address"] for host in hosts}
    inventory = FAKE_INVENTORY.format(addresses=addresses, marker=MARKER, probe=HEALTHY_DISK)
    (directory / "inventory.py").write_text(inventory)
    return directory


@pytest.fixture
def fake_project(tmp_path: Path) -> Path:
    return make_fake_project(tmp_path)


def test_the_cli_dry_run_plan_json(fake_project: Path):
    result = pyinfra_dry_json(fake_project)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)["plan"]
    hosts_of = {
        entry["name"]: set(entry["hosts_with_change"]) | set(entry["hosts_with_conditional_change"]) for entry in plan
    }
    assert hosts_of["PostgreSQL | Install PostgreSQL"] == {"@fake/nixie"}
    assert hosts_of["nginx load balancer | Install nginx"] == {"@fake/nixie"}
    assert hosts_of[DB_SETUP] == {"@fake/freud"}
    assert hosts_of[PRECOMPILE.format("v4.6.5")] == {"@fake/freud", "@fake/fritz", "@fake/franz"}
    assert CANARY not in result.stdout + result.stderr
    assert not (fake_project / "runs").exists()  # a dry run leaves no run record


def test_the_cli_refuses_a_bad_fleet_before_planning(fake_project: Path):
    with (fake_project / "group_data" / "app.py").open("a") as app:
        app.write('\nsidekiq_layout["fritz"][1]["queues"].append("scheduler")\n')
    result = pyinfra_dry_json(fake_project)
    assert result.returncode == 1
    assert result.stdout.strip() == ""  # no plan at all
    assert "mastofleet refuses to deploy: the fleet has 1 problem(s):" in result.stderr
    assert "fleet: sidekiq.queues: 2 processes listen on 'scheduler' (freud/scheduler, fritz/ingress)" in result.stderr
    assert CANARY not in result.stderr


def test_the_cli_plan_is_the_upgrade_choreography(fake_project: Path):
    """In pyinfra's own order of operations (the CLI's, across hosts): prepare every release, the
    pre-deployment migrations, switch `live`, restart Sidekiq, then each app host's turn —
    out of the balancer, restart, health, back — one host after the other, and the full
    migrations last."""
    result = pyinfra_dry_json(fake_project)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)["plan"]
    names = [entry["name"] for entry in plan]
    hosts_of = {
        entry["name"]: set(entry["hosts_with_change"]) | set(entry["hosts_with_conditional_change"]) for entry in plan
    }
    order = [
        PRECOMPILE.format("v4.6.5"),
        "Mastodon release | Migrate the database (pre-deployment migrations, v4.6.5)",
        "Switch the live release | Switch /var/lib/mastofleet/release/live to /home/mastodon/releases/v4.6.5",
        next(name for name in names if name.startswith("Mastodon Sidekiq | Restart")),
    ]
    for host in APP_HOSTS:
        order += [
            f"Rolling restart | Take {host} out of the balancer",
            f"Rolling restart | Restart what {host} owes",
            f"Rolling restart | Wait until {host} answers its health checks",
            f"Rolling restart | Put {host} back into the balancer",
        ]
        assert hosts_of[f"Rolling restart | Take {host} out of the balancer"] == {"@fake/nixie"}
        assert hosts_of[f"Rolling restart | Restart what {host} owes"] == {f"@fake/{host}"}
        assert hosts_of[f"Rolling restart | Wait until {host} answers its health checks"] == {f"@fake/{host}"}
    order.append("Post-deployment migrations | Migrate the database (all migrations, v4.6.5)")
    positions = [names.index(name) for name in order]
    assert positions == sorted(positions), [name for _, name in sorted(zip(positions, order, strict=True))]


def test_an_unreachable_host_stops_the_deploy_before_any_operation(fake_project: Path):
    """config.py's FAIL_PERCENT = 0: one host that cannot be reached (here freud, on a closed port of
    loopback) stops the whole run at connect time; no other host executes anything."""
    inventory = fake_project / "inventory.py"
    inventory.write_text(
        inventory.read_text().replace(
            'app = [_host("freud"),',
            'app = [("freud", {"ssh_hostname": "127.0.0.1", "ssh_port": 1, "ssh_connect_retries": 0,'
            ' "private_address": ADDRESSES["freud"],'
            ' "public_address": None}),',
        )
    )
    shutil.copy(REPO / "config.py", fake_project / "config.py")
    result = pyinfra_cli(fake_project, "-y")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Over 0% of hosts failed" in output
    assert "--> Starting operation" not in output


# --- a bad fleet is refused before pyinfra connects anywhere --------------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A socket on a free loopback port that records connections and never answers them: every host
    of the inventory below "lives" there, so any connection attempt would be seen in its backlog."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.setblocking(False)
        yield server


def connections(server: socket.socket) -> int:
    """How many connections reached the listener (each is accepted, then closed)."""
    count = 0
    while True:
        try:
            accepted, _ = server.accept()
        except BlockingIOError:
            return count
        accepted.close()
        count += 1


def unreachable_project(project: Path, port: int) -> Path:
    """The fake project with real SSH hosts at 127.0.0.1:`port`, config.py as the example's, and a
    bad fleet (two processes on `scheduler`)."""
    inventory = project / "inventory.py"
    inventory.write_text(
        inventory.read_text().replace(
            'return (f"@fake/{name}", {**FAKE,',
            f'return (name, {{"ssh_hostname": "127.0.0.1", "ssh_port": {port}, "ssh_connect_retries": 0,',
        )
    )
    shutil.copy(REPO / "config.py", project / "config.py")
    with (project / "group_data" / "app.py").open("a") as app:
        app.write('\nsidekiq_layout["fritz"][1]["queues"].append("scheduler")\n')
    return inventory


def test_the_listener_sees_a_connection(listener: socket.socket):
    """The harness can fail: a connection to the hosts' address is counted."""
    with socket.create_connection(listener.getsockname(), timeout=2):
        time.sleep(0.05)
    assert connections(listener) == 1


def test_pyinfra_refuses_a_bad_fleet_before_connecting_to_any_host(fake_project: Path, listener: socket.socket):
    """config.py validates the fleet once pyinfra has read the inventory, before it connects: the
    refusal lists the problem and nothing reached the hosts' address (deploy.py alone would only
    run after connecting)."""
    unreachable_project(fake_project, listener.getsockname()[1])
    result = pyinfra_cli(fake_project, "--dry")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "mastofleet refuses to deploy: the fleet has 1 problem(s):" in output
    assert "2 processes listen on 'scheduler' (freud/scheduler, fritz/ingress)" in output
    assert "--> Connecting to hosts" not in output
    assert connections(listener) == 0


def test_mastofleet_deploy_refuses_a_bad_fleet_before_connecting_to_any_host(
    fake_project: Path, listener: socket.socket, capsys, monkeypatch
):
    inventory = unreachable_project(fake_project, listener.getsockname()[1])
    monkeypatch.chdir(fake_project)
    monkeypatch.setattr(subprocess, "run", forbidden_subprocess)  # neither pyinfra nor git may start
    assert main(["deploy", str(inventory)]) == 1
    assert "2 processes listen on 'scheduler' (freud/scheduler, fritz/ingress)" in capsys.readouterr().err
    assert connections(listener) == 0


def forbidden_subprocess(*arguments: object, **options: object) -> None:
    raise AssertionError(f"a bad fleet started {arguments}")


def test_the_app_hosts_set_up_the_database_only_once_postgresql_and_redis_are_up(fake_project: Path):
    """pyinfra interleaves the hosts' own operations; a fresh fleet's db:setup on the first app host
    must still come after the db host created the database and started PgBouncer and Redis."""
    result = pyinfra_dry_json(fake_project)
    assert result.returncode == 0, result.stderr
    names = [entry["name"] for entry in json.loads(result.stdout)["plan"]]
    setup = names.index(DB_SETUP)
    for needed in (
        "PostgreSQL | Create the mastodon_production database",
        "PgBouncer | Enable and start pgbouncer",
        "Redis | Enable and start redis-server.service",
    ):
        assert names.index(needed) < setup, f"{needed} is planned after {DB_SETUP}"


# --- the trust boundary -----------------------------------------------------------------------

AS_APPLICATION_USER = re.compile(r"runuser -u mastodon -- sh -c '(?:[^']|'\"'\"')*'")
RECORD_LINK = re.compile(r"ln -sfn /home/mastodon/releases/[A-Za-z0-9._-]+ /var/lib/mastofleet/release/")


def test_root_does_nothing_itself_in_the_application_users_home(default_plans):
    """Every command that touches /home/mastodon runs there as the app user (`as_user_command`);
    no file is uploaded there and no pyinfra file operation (which would follow links as root)
    works there. What root keeps about the releases is in its own release record (whose links
    name a release directory: text, never followed by root)."""
    plans, _ = default_plans
    for host in APP_HOSTS:
        for name, command in plans[host].all_commands():
            if isinstance(command, FileUploadCommand):
                assert not command.dest.startswith("/home/mastodon"), (host, name, command.dest)
            elif isinstance(command, StringCommand) and name != "Mastodon release | Create the mastodon user":
                # (useradd makes the home before the user owns anything there)
                as_root = AS_APPLICATION_USER.sub("<as the app user>", command.get_raw_value())
                as_root = RECORD_LINK.sub("<a link in root's record, to a release>", as_root)
                assert "/home/mastodon" not in as_root, (host, name, as_root)
        as_user = [name for name, command in plans[host].all_commands() if AS_APPLICATION_USER.search(str(command))]
        assert len(as_user) >= 5, as_user  # unpack, gems, packages, assets, the link: the check checks something
