"""Each invalid fleet is refused with its own clear problem: where, which field, what is wrong.

Every test starts from the default fleet (`fleet_builder.default_fleet_data`, the values of
`group_data/` with the Hetzner addresses) and changes one thing.
"""

from __future__ import annotations

import pytest
from fleet_builder import (
    APP_HOSTS,
    SECRET_NAMES,
    build,
    group_data,
    host_data,
    layout,
    only,
    problems_of,
    process,
)

from mastofleet.model import Role, Web, fleet_problems
from mastofleet.model.problems import FleetError, Problem
from mastofleet.model.queues import QUEUES


def where_field_message(problem: Problem) -> tuple[str, str, str]:
    return problem.where, problem.field, problem.message


# --- the baseline itself ----------------------------------------------------------------------


def test_the_default_fleet_is_valid(fleet_data):
    hosts, common = fleet_data
    fleet = build(hosts, common)
    assert [host.name for host in fleet.hosts] == ["nixie", "freud", "fritz", "franz", "esme"]
    assert [host.name for host in fleet.app_hosts] == list(APP_HOSTS)
    assert fleet_problems(fleet) == []


# --- Sidekiq queues ---------------------------------------------------------------------------


def test_two_processes_on_scheduler(fleet_data):
    hosts, common = fleet_data
    process(hosts, "fritz", "ingress")["queues"].append("scheduler")
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "fleet",
        "sidekiq.queues",
        "2 processes listen on 'scheduler' (freud/scheduler, fritz/ingress); scheduled jobs would run several times",
        "keep 'scheduler' on exactly one process",
    )


def test_no_process_on_scheduler(fleet_data):
    hosts, common = fleet_data
    process(hosts, "freud", "scheduler")["queues"] = ["fasp"]
    problem = only(problems_of(hosts, common)[0])
    assert where_field_message(problem) == (
        "fleet",
        "sidekiq.queues",
        "no Sidekiq process listens on 'scheduler'; its jobs would never run",
    )
    assert problem.fix == "add 'scheduler' to a process's queues"


def test_fasp_served_by_nobody(fleet_data):
    hosts, common = fleet_data
    process(hosts, "freud", "scheduler")["queues"] = ["scheduler"]
    process(hosts, "franz", "pull")["queues"] = [["pull", 2]]
    problem = only(problems_of(hosts, common)[0])
    assert where_field_message(problem) == (
        "fleet",
        "sidekiq.queues",
        "no Sidekiq process listens on 'fasp'; its jobs would never run",
    )


def test_unknown_queue_name(fleet_data):
    hosts, common = fleet_data
    process(hosts, "fritz", "ingress")["queues"] = ["ingres"]  # freud and franz still serve ingress
    problem = only(problems_of(hosts, common)[0])
    assert where_field_message(problem) == ("fritz", "sidekiq[ingress].queues", "unknown queue 'ingres'")
    assert problem.fix == f"use one of {', '.join(QUEUES)}"


def test_a_queue_listed_twice_in_one_process_is_not_two_processes(fleet_data):
    hosts, common = fleet_data
    process(hosts, "freud", "scheduler")["queues"] = ["scheduler", "scheduler", "fasp"]
    problems = []
    try:
        build(hosts, common)
    except FleetError as error:
        problems = error.problems
    assert not any("processes listen on 'scheduler'" in problem.message for problem in problems)


def test_db_pool_below_threads(fleet_data):
    hosts, common = fleet_data
    process(hosts, "freud", "default")["db_pool"] = 4  # threads 10
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "freud",
        "sidekiq[default].db_pool",
        "DB_POOL 4 is below its 10 threads; threads would wait for connections",
        "set db_pool to at least 10",
    )


def test_duplicate_sidekiq_process_names_on_a_host(fleet_data):
    hosts, common = fleet_data
    process(hosts, "fritz", "pull")["name"] = "ingress"
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem("fritz", "sidekiq[ingress]", "two Sidekiq processes share a name", "rename one")


# --- database connections ---------------------------------------------------------------------

# The default fleet's connections, worked out by hand from group_data/app.py:
# web 2 processes x 5 threads, streaming 2 ports x DB_POOL 10, plus each Sidekiq process's pool.
FREUD = "freud 50 (web 2x5 + sidekiq default 10 + sidekiq ingress 5 + sidekiq scheduler 5 + streaming 2x10)"
FRITZ = "fritz 55 (web 2x5 + sidekiq default 10 + sidekiq ingress 5 + sidekiq pull 10 + streaming 2x10)"
FRANZ = (
    "franz 60 (web 2x5 + sidekiq push 10 + sidekiq pull 10 + sidekiq mailers 5 + sidekiq ingress 5 + streaming 2x10)"
)


def test_connection_budget_exceeded_without_pgbouncer(fleet_data):
    hosts, common = fleet_data
    common["pgbouncer"]["enabled"] = False
    common["postgres"]["max_connections"] = 150  # 150 - 10 reserved = 140 < 165
    problem = only(problems_of(hosts, common)[0])
    assert (problem.where, problem.field) == ("fleet", "connections")
    assert problem.message == (
        "the fleet may open more database connections than allowed: "
        f"{FREUD} + {FRITZ} + {FRANZ} = 165 against postgres max_connections 150 - reserved 10 = 140"
    )


def test_connection_budget_exactly_at_the_limit_is_fine(fleet_data):
    hosts, common = fleet_data
    common["pgbouncer"]["enabled"] = False
    common["postgres"]["max_connections"] = 175  # 175 - 10 = 165: every connection fits
    assert build(hosts, common).total_connections == 165


def test_connection_budget_exceeded_with_pgbouncer(fleet_data):
    hosts, common = fleet_data
    common["pgbouncer"]["max_client_connections"] = 100
    problem = only(problems_of(hosts, common)[0])
    assert (problem.where, problem.field) == ("fleet", "connections")
    assert problem.message == (
        "the fleet may open more database connections than allowed: "
        f"{FREUD} + {FRITZ} + {FRANZ} = 165 against pgbouncer max_client_connections 100"
    )


def test_pgbouncer_pool_larger_than_postgres_allows(fleet_data):
    hosts, common = fleet_data
    common["pgbouncer"]["default_pool_size"] = 290  # + reserve 20 = 310 > 300 - 10
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "fleet",
        "pgbouncer.default_pool_size",
        "pgbouncer's pool 290 + reserve 20 = 310 exceeds postgres max_connections 300 - reserved 10 = 290",
        "lower the pool or raise postgres.max_connections",
    )


# --- roles, names, addresses ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["db", "redis", "lb"])
def test_missing_service_role(fleet_data, role):
    hosts, common = fleet_data
    nixie = next(host for host in hosts if host["name"] == "nixie")  # the only db, redis and lb host
    nixie["groups"].remove(role)
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "fleet", "roles", f"no host has the role {role}", f"add a host to the inventory group '{role}'"
    )


def test_missing_app_role(fleet_data):
    hosts, common = fleet_data
    for host in hosts:
        if "app" in host["groups"]:
            host["groups"] = ["application"]  # a group name that is no role
            # as in pyinfra, group_data/app.py no longer reaches a host outside the app group
            for key in group_data("app"):
                host["data"].pop(key)
    problem = only(problems_of(hosts, common)[0])
    # the group is refused by its own name, not by what it leaves missing (no app, no Sidekiq)
    assert problem == Problem(
        "inventory",
        "group application",
        "`application` is not a role (hosts freud, fritz, franz are in it)",
        "rename the group to a role (db, db_replica, redis, redis_cache, redis_sidekiq, lb, app, edge, monitor, "
        "search, retired), or declare it in group_data/all.py as plain_groups = ['application'] if it only "
        "groups hosts",
    )


def test_two_database_primaries(fleet_data):
    hosts, common = fleet_data
    next(host for host in hosts if host["name"] == "esme")["groups"] = ["db"]
    problems, _ = problems_of(hosts, common)
    assert any(problem.field == "roles" and "db" in problem.message for problem in problems)


def test_no_app_host_runs_web(fleet_data):
    hosts, common = fleet_data
    for name in APP_HOSTS:
        host_data(hosts, name)["web"] = None
    problems, _ = problems_of(hosts, common)
    assert any("web" in problem.field or "web" in problem.message for problem in problems)


def test_duplicate_host_name(fleet_data):
    hosts, common = fleet_data
    second = {"name": "fritz", "groups": ["app"], "data": dict(host_data(hosts, "fritz"), private_address="10.0.1.7")}
    second["data"]["public_address"] = "203.0.113.17"
    hosts.append(second)
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem("fritz", "name", "the host name is used twice", "give each host its own name")


def test_duplicate_private_address(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "franz")["private_address"] = "10.0.1.4"  # fritz's
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "franz", "private_address", "10.0.1.4 is already the address of fritz", "give each host its own address"
    )


def test_address_outside_the_private_network(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "franz")["private_address"] = "10.1.0.5"  # private_network is 10.0.0.0/16
    problem = only(problems_of(hosts, common)[0])
    assert where_field_message(problem) == (
        "franz",
        "private_address",
        "10.1.0.5 is outside the private network 10.0.0.0/16",
    )


def test_invalid_host_name(fleet_data):
    hosts, common = fleet_data
    next(host for host in hosts if host["name"] == "esme")["name"] = "Esme_1"
    problem = only(problems_of(hosts, common)[0])
    assert where_field_message(problem) == ("Esme_1", "name", "not a valid host name")


def test_plain_groups_and_connector_keys_create_no_role_and_no_problem(fleet_data):
    hosts, common = fleet_data
    fritz = next(host for host in hosts if host["name"] == "fritz")
    fritz["groups"].append("hetzner-fsn1")  # any inventory may group hosts by location, once declared
    common["plain_groups"] = ["hetzner-fsn1"]
    fritz["data"]["ssh_user"] = "root"  # connector data is not fleet data
    fritz["data"]["_sudo"] = True  # nor are pyinfra's operation arguments
    fleet = build(hosts, common)
    assert fleet.host("fritz").roles == [Role.app]


def test_invalid_field_of_a_host(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "freud")["web"] = {"processes": 2, "threads": 0}
    problems, _ = problems_of(hosts, common)
    assert (
        Problem(
            "freud", "web.threads", "the value should be greater than or equal to 1", "set web.threads to at least 1"
        )
        in problems
    )


def test_an_invalid_host_is_not_also_reported_as_missing_everything_it_runs(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "freud")["web"] = {"processes": 2, "threads": 0}
    problems, _ = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("freud", "web.threads")]


def test_app_host_with_no_processes(fleet_data):
    hosts, common = fleet_data
    idle = {
        "name": "gustav",
        "groups": ["app"],
        "data": {
            **host_data(hosts, "fritz"),
            "private_address": "10.0.1.7",
            "public_address": "203.0.113.17",
            "web": None,
            "streaming": None,
            "sidekiq": [],
        },
    }
    hosts.append(idle)
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "gustav", "web/streaming/sidekiq", "an app host runs nothing", "give it web, streaming or sidekiq"
    )


def test_processes_on_a_host_without_the_app_role_are_a_model_problem(fleet_data):
    """The rule itself, on a Fleet changed directly (the loader's part is tested below)."""
    fleet = build(*fleet_data)
    nixie = fleet.host("nixie").model_copy(update={"web": Web()})
    fleet = fleet.model_copy(update={"hosts": [nixie, *fleet.hosts[1:]]})
    assert fleet_problems(fleet) == [
        Problem(
            "nixie",
            "web/streaming/sidekiq",
            "Mastodon processes are set on a host without the app role",
            "add the host to the 'app' group or remove its processes",
        )
    ]


def test_processes_on_a_host_without_the_app_role(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "nixie")["web"] = {"processes": 2, "threads": 5}
    problem = only(problems_of(hosts, common)[0])
    assert where_field_message(problem) == (
        "nixie",
        "web/streaming/sidekiq",
        "Mastodon processes are set on a host without the app role",
    )


def test_streaming_port_is_the_web_port(fleet_data):
    hosts, common = fleet_data
    for name in APP_HOSTS:
        host_data(hosts, name)["streaming"] = {"ports": [3000, 4001], "db_pool": 10}
    problems, _ = problems_of(hosts, common)
    assert [where_field_message(problem) for problem in problems] == [
        (name, "streaming.ports", "port 3000 is also the web port") for name in APP_HOSTS
    ]


# --- instance ---------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["Hachyderm.Example", "hachyderm", "hachy_derm.example", "-x.example"])
def test_invalid_local_domain(fleet_data, domain):
    hosts, common = fleet_data
    common["instance"]["local_domain"] = domain
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "instance",
        "local_domain",
        f"'{domain}' is not a valid domain",
        "write a lowercase name like social.example.com",
    )


def test_invalid_web_domain(fleet_data):
    hosts, common = fleet_data
    common["instance"]["web_domain"] = "https://social.hachyderm.example"
    problem = only(problems_of(hosts, common)[0])
    assert where_field_message(problem) == (
        "instance",
        "web_domain",
        "'https://social.hachyderm.example' is not a valid domain",
    )


@pytest.mark.parametrize("version", ["4.6.5", "latest", "v4.6", "main"])
def test_version_is_not_a_release_tag(fleet_data, version):
    hosts, common = fleet_data
    common["instance"]["version"] = version
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "instance", "version", f"'{version}' is not a Mastodon release tag", "write a tag like v4.6.5"
    )


def test_release_candidate_tags_are_release_tags(fleet_data):
    hosts, common = fleet_data
    common["instance"]["version"] = "v4.7.0-rc.1"
    assert build(hosts, common).instance.version == "v4.7.0-rc.1"


def test_unknown_key_in_a_section(fleet_data):
    hosts, common = fleet_data
    common["postgres"]["max_conections"] = 400
    problem = only(problems_of(hosts, common)[0])
    assert where_field_message(problem) == (
        "fleet",
        "postgres.max_conections",
        "`max_conections` is not a setting here; did you mean `max_connections`?",
    )


# --- object storage ---------------------------------------------------------------------------


def test_object_storage_endpoint_not_https(fleet_data):
    hosts, common = fleet_data
    common["object_storage"]["endpoint"] = "http://fra1.digitaloceanspaces.com"
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "object_storage",
        "endpoint",
        "'http://fra1.digitaloceanspaces.com' is not an https URL (plain http only to an address on the private network)",
        "write https://<region endpoint>",
    )


@pytest.mark.parametrize(
    "alias",
    ["https://media.hachyderm.example", "media.hachyderm.example/hachyderm-media"],
    ids=["scheme", "path"],
)
def test_alias_host_must_be_a_host_name_only(fleet_data, alias):
    hosts, common = fleet_data
    common["object_storage"]["alias_host"] = alias
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "object_storage",
        "alias_host",
        f"'{alias}' must be a host name only (Mastodon builds https://<alias>/<path>)",
        "drop the scheme and any path",
    )


def test_alias_host_is_the_buckets_virtual_host(fleet_data):
    hosts, common = fleet_data
    common["object_storage"]["alias_host"] = "hachyderm-media.fra1.digitaloceanspaces.com"
    problem = only(problems_of(hosts, common)[0])
    assert where_field_message(problem) == (
        "object_storage",
        "alias_host",
        "'hachyderm-media.fra1.digitaloceanspaces.com' starts with the bucket name; "
        "media URLs would carry the bucket twice",
    )


# --- secrets ----------------------------------------------------------------------------------


def test_missing_mastodon_secret(fleet_data):
    hosts, common = fleet_data
    problem = only(problems_of(hosts, common, secrets=SECRET_NAMES - {"vapid_public_key"})[0])
    assert problem == Problem(
        "secrets",
        "vapid_public_key",
        "the fleet needs this secret but the secret store does not hold it",
        "run `mastofleet secrets init` (or `mastofleet secrets set NAME`)",
    )


def test_secret_written_literally_in_a_section(fleet_data):
    hosts, common = fleet_data
    common["redis"] = {"password": "hunter2"}
    problems, text = problems_of(hosts, common)
    problem = only(problems)
    assert (problem.where, problem.field) == ("fleet", "redis.password")
    assert problem.message.startswith("a secret must be written as a reference like 'secret:")
    assert "hunter2" not in text
    assert all("hunter2" not in f"{item!r} {item}" for item in problems)


def test_secret_written_literally_in_extra_environment(fleet_data):
    hosts, common = fleet_data
    common["instance"]["extra_environment"] = {"CACHE_BUSTER_SECRET": "s3cr3t-buster-value"}
    problems, text = problems_of(hosts, common)
    problem = only(problems)
    assert where_field_message(problem) == (
        "group_data",
        "instance.extra_environment.CACHE_BUSTER_SECRET",
        "a secret value is written literally",
    )
    assert "s3cr3t-buster-value" not in text


# --- the environment file ---------------------------------------------------------------------


def test_unknown_environment_key(fleet_data):
    hosts, common = fleet_data
    common["instance"]["extra_environment"] = {"3_BUCKET": "hachyderm-media"}
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "instance",
        "extra_environment.3_BUCKET",
        "Mastodon does not read '3_BUCKET'; it would be silently ignored",
        "write 'S3_BUCKET' if that is what you meant, or remove 3_BUCKET"
        " (see Mastodon's configuration docs, docs.joinmastodon.org/admin/config)",
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("OTP_SECRET", "secret:otp_secret", "removed in Mastodon 4.4.0; delete it"),
        (
            "STREAMING_CLUSTER_NUM",
            "4",
            "removed in Mastodon 4.2.0; scale streaming with more mastodon-streaming@PORT units",
        ),
    ],
)
def test_removed_environment_keys(fleet_data, key, value, message):
    hosts, common = fleet_data
    common["instance"]["extra_environment"] = {key: value}
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem("instance", f"extra_environment.{key}", message, f"remove {key}")


def test_environment_key_written_twice(fleet_data):
    """Hachyderm's 2022-12-18 outage: one node said S3_ENABLED=FALSE next to the real settings."""
    hosts, common = fleet_data
    common["instance"]["extra_environment"] = {"S3_ENABLED": "FALSE"}
    problem = only(problems_of(hosts, common)[0])
    assert where_field_message(problem) == (
        "instance",
        "extra_environment.S3_ENABLED",
        "'S3_ENABLED' would be written twice",
    )


def test_environment_value_cannot_smuggle_in_a_key(fleet_data):
    hosts, common = fleet_data
    common["instance"]["extra_environment"] = {"CDN_HOST": "cdn.hachyderm.example\nSTREAMING_CLUSTER_NUM=4"}
    problem = only(problems_of(hosts, common)[0])
    assert problem.field == "extra_environment.STREAMING_CLUSTER_NUM"


# --- everything at once -----------------------------------------------------------------------


def test_several_problems_are_reported_at_once(fleet_data):
    hosts, common = fleet_data
    process(hosts, "fritz", "ingress")["queues"].append("scheduler")  # 1: two schedulers
    process(hosts, "franz", "push")["db_pool"] = 2  # 2: DB_POOL below threads
    host_data(hosts, "franz")["private_address"] = "10.0.1.4"  # 3: fritz's address
    common["instance"]["version"] = "latest"  # 4: not a tag
    common["instance"]["extra_environment"] = {"3_BUCKET": "x"}  # 5: unknown key
    common["object_storage"]["endpoint"] = "http://fra1.digitaloceanspaces.com"  # 6: not https
    problems, text = problems_of(hosts, common, secrets=SECRET_NAMES - {"secret_key_base"})  # 7: missing secret
    assert sorted((problem.where, problem.field) for problem in problems) == sorted(
        [
            ("fleet", "sidekiq.queues"),
            ("franz", "sidekiq[push].db_pool"),
            ("franz", "private_address"),
            ("instance", "version"),
            ("instance", "extra_environment.3_BUCKET"),
            ("object_storage", "endpoint"),
            ("secrets", "secret_key_base"),
        ]
    )
    assert text.splitlines()[0] == "the fleet has 7 problem(s):"
    assert len(text.splitlines()) == 1 + 7


def test_layout_helper_changes_the_fleet(fleet_data):
    """Guards the builder: a change through `layout` reaches the fleet (else every test above is void)."""
    hosts, common = fleet_data
    layout(hosts, "franz").pop()  # franz's ingress process
    fleet = build(hosts, common)
    assert [process.name for process in fleet.host("franz").sidekiq] == ["push", "pull", "mailers"]
