"""Names that match nothing, ports out of range, pydantic's errors in the operator's words (issue 16).

Every case starts from the default fleet and changes one thing; each asserts its own message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet_builder import build, host_data, layout, only, problems_of, process, wfm

from mastofleet.model.problems import FleetError, Problem
from mastofleet.project.fleet import load_fleet
from mastofleet.project.inventory_source import duplicate_host_problems
from mastofleet.project.known_names import RUNTIME_NAMES

# --- inventory groups -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "typo", "role"),
    [("esme", "edges", "edge"), ("nixie", "monitr", "monitor"), ("nixie", "dbs", "db"), ("nixie", "redis-cache", None)],
)
def test_a_group_that_is_no_role(fleet_data, host, typo, role):
    hosts, common = fleet_data
    next(item for item in hosts if item["name"] == host)["groups"].append(typo)
    problem = only(problems_of(hosts, common)[0])
    hint = f"; did you mean `{role}`?" if role else "; did you mean `redis_cache`?"
    assert wfm(problem) == ("inventory", f"group {typo}", f"`{typo}` is not a role{hint} (hosts {host} are in it)")
    assert f"plain_groups = [{typo!r}]" in problem.fix


def test_a_group_far_from_every_role_gets_no_guess(fleet_data):
    hosts, common = fleet_data
    hosts[0]["groups"].append("zzzz")
    assert only(problems_of(hosts, common)[0]).message == "`zzzz` is not a role (hosts nixie are in it)"


def test_a_plain_group_that_is_a_role(fleet_data):
    hosts, common = fleet_data
    common["plain_groups"] = ["edge"]
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "group_data",
        "plain_groups",
        "`edge` is a role, not a plain group",
        "remove 'edge' from plain_groups: its hosts get the role edge from the inventory",
    )


def test_a_declared_plain_group_is_accepted(fleet_data):
    hosts, common = fleet_data
    for host in hosts:
        host["groups"].append("falkenstein")
    common["plain_groups"] = ["falkenstein"]
    assert [host.name for host in build(hosts, common).hosts][0] == "nixie"


# --- top-level data names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("postgress", "postgres"),
        ("pgbouncr", "pgbouncer"),
        ("objectstorage", "object_storage"),
        ("monitorin", "monitoring"),
        ("smpt", "smtp"),
        ("secret_file", "secrets_file"),
        ("fleetname", "fleet_name"),
        ("operator", "operators"),
    ],
)
def test_a_data_name_that_is_no_setting(fleet_data, typo, meant):
    hosts, common = fleet_data
    common[typo] = common.get(meant, {})
    problem = only(problems_of(hosts, common)[0])
    assert wfm(problem) == (
        "group_data",
        typo,
        f"`{typo}` is not a setting of mastofleet; did you mean `{meant}`?",
    )


def test_the_deploys_data_switches_are_known_names():
    from mastofleet.runtime.deployment import HOLD_POST_MIGRATIONS, ROLLBACK_RELEASE
    from mastofleet.runtime.disk_guard import FORCE
    from mastofleet.runtime.rollout import HEALTH_TIMEOUT_DATA

    assert {FORCE, HEALTH_TIMEOUT_DATA, ROLLBACK_RELEASE, HOLD_POST_MIGRATIONS} == RUNTIME_NAMES


def test_a_data_name_on_one_host_is_reported_on_that_host(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "fritz")["memory_m"] = 16384
    problem = only(problems_of(hosts, common)[0])
    assert wfm(problem) == ("fritz", "memory_m", "`memory_m` is not a setting of mastofleet; did you mean `memory_mb`?")


def test_a_field_path_of_an_unknown_section(fleet_data):
    hosts, common = fleet_data
    common["instanse.version"] = "v4.6.6"
    assert only(problems_of(hosts, common)[0]).field == "instanse"


# --- nested keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "typo", "meant"),
    [
        ("smtp", "from_adress", "from_address"),
        ("tls", "emial", "email"),
        ("object_storage", "buckett", "bucket"),
        ("instance", "local_domian", "local_domain"),
        ("pgbouncer", "default_pool", "default_pool_size"),
        ("redis", "max_memory_mb", "maxmemory_mb"),
    ],
)
def test_a_key_of_a_section_that_is_no_setting(fleet_data, section, typo, meant):
    hosts, common = fleet_data
    common[section] = {**common.get(section, {}), typo: common.get(section, {}).get(meant, "x")}
    problems = problems_of(hosts, common)[0]
    assert (
        "fleet",
        f"{section}.{typo}",
        f"`{typo}` is not a setting here; did you mean `{meant}`?",
    ) in [wfm(problem) for problem in problems]


def test_a_key_of_a_sidekiq_process_is_named_by_the_process(fleet_data):
    hosts, common = fleet_data
    process(hosts, "fritz", "ingress")["thread"] = 5
    problem = only(problems_of(hosts, common)[0])
    assert wfm(problem) == (
        "fritz",
        "sidekiq[ingress].thread",
        "`thread` is not a setting here; did you mean `threads`?",
    )
    assert problem.fix == "rename it to one of db_pool, name, queues, shutdown_seconds, threads, or remove it"


def test_an_operator_field_is_named_by_the_operator(fleet_data):
    hosts, common = fleet_data
    common["operators"][1]["ssh_key"] = common["operators"][1].pop("ssh_keys")
    fields = [problem.field for problem in problems_of(hosts, common)[0]]
    assert fields == ["operators[bob].ssh_keys", "operators[bob].ssh_key"]


# --- sidekiq_layout keys ----------------------------------------------------------------------


def test_a_layout_key_that_names_no_host(fleet_data):
    hosts, common = fleet_data
    for host in hosts:
        if "sidekiq_layout" in host["data"]:
            host["data"]["sidekiq_layout"]["fritzz"] = host["data"]["sidekiq_layout"]["fritz"]
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "group_data",
        "sidekiq_layout.fritzz",
        "`fritzz` is no host of the inventory; did you mean `fritz`?",
        "name one of the app hosts (freud, fritz, franz), or remove the entry",
    )


def test_a_layout_key_that_names_a_host_without_the_app_role(fleet_data):
    hosts, common = fleet_data
    for host in hosts:
        if "sidekiq_layout" in host["data"]:
            host["data"]["sidekiq_layout"]["nixie"] = layout(hosts, "fritz")
    problem = only(problems_of(hosts, common)[0])
    assert wfm(problem) == ("group_data", "sidekiq_layout.nixie", "`nixie` is not an app host")


# --- ports ------------------------------------------------------------------------------------

PORT = "is not a port: a port is a number from 1 to 65535"


@pytest.mark.parametrize("value", [0, -1, 65536, 70000])
@pytest.mark.parametrize("section", ["postgres", "pgbouncer", "smtp", "redis"])
def test_a_section_port_out_of_range(fleet_data, section, value):
    hosts, common = fleet_data
    common[section] = {**common.get(section, {}), "port": value}
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem("fleet", f"{section}.port", PORT, f"set {section}.port to a free port from 1 to 65535")


@pytest.mark.parametrize(("field", "value"), [("web", {"port": 0}), ("streaming", {"ports": [4000, 65536]})])
def test_a_process_port_out_of_range(fleet_data, field, value):
    hosts, common = fleet_data
    host_data(hosts, "freud")[field] = value
    problem = only(problems_of(hosts, common)[0])
    expected = "web.port" if field == "web" else "streaming.ports[1]"
    assert (problem.where, problem.field, problem.message) == ("freud", expected, PORT)


# --- pydantic's other errors, with a fix each -------------------------------------------------


def test_a_value_outside_its_choices(fleet_data):
    hosts, common = fleet_data
    common["tls"]["mode"] = "file"
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "fleet",
        "tls.mode",
        "is not one of the allowed values",
        "set tls.mode to one of 'self-signed', 'files' or 'certbot'",
    )


def test_a_required_setting_missing(fleet_data):
    hosts, common = fleet_data
    del common["smtp"]["from_address"]
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem("fleet", "smtp.from_address", "is required and not set", "set smtp.from_address")


def test_a_number_written_as_words(fleet_data):
    hosts, common = fleet_data
    common["postgres"]["max_connections"] = "lots"
    problem = only(problems_of(hosts, common)[0])
    assert wfm(problem)[:2] == ("fleet", "postgres.max_connections")
    assert problem.message.startswith("the value should be a valid integer")


def test_a_sidekiq_process_without_queues(fleet_data):
    hosts, common = fleet_data
    process(hosts, "franz", "mailers")["queues"] = []
    problem = only(problems_of(hosts, common)[0])
    assert (problem.where, problem.field) == ("franz", "sidekiq[mailers].queues")
    assert problem.fix == "give sidekiq[mailers].queues at least 1 item(s)"


# --- a host defined twice in an inventory file ------------------------------------------------

HETZNER_STYLE = """from mastofleet.provision.inventory import HetznerInventory

_hetzner = HetznerInventory(__file__)
_fritz = _hetzner.host("fritz", "10.0.1.4")
_franz = _hetzner.host("fritz", "10.0.1.5")
app = [_fritz, _franz]
"""
LOCAL_STYLE = """from mastofleet.local.inventory import local_host as _host

db = [_host("nixie")]
redis = [_host("nixie")]
app = [_host("freud"), _host("fritz"),
       _host("fritz")]
"""
TUPLE_STYLE = """app = [
    ("freud", {"private_address": "10.0.1.3"}),
    ("freud", {"private_address": "10.0.1.4"}),
]
edge = ["esme"]
"""


@pytest.mark.parametrize(
    ("source", "name", "first", "second"),
    [
        (HETZNER_STYLE, "fritz", (4, 10), (5, 10)),
        (LOCAL_STYLE, "fritz", (5, 24), (6, 8)),
        (TUPLE_STYLE, "freud", (2, 5), (3, 5)),
    ],
)
def test_a_host_defined_twice(tmp_path: Path, source, name, first, second):
    path = tmp_path / "inventory.py"
    path.write_text(source)
    problem = only(duplicate_host_problems(str(path)))
    assert problem == Problem(
        "inventory",
        f"host {name}",
        f"`{name}` is defined twice in inventory.py, at line {first[0]} column {first[1]} and at line {second[0]} "
        f"column {second[1]}; pyinfra would merge them into one host",
        "give the copy its own host name (and address), or remove it",
    )


def test_one_host_in_several_groups_is_not_a_duplicate(tmp_path: Path):
    path = tmp_path / "inventory.py"
    path.write_text(LOCAL_STYLE.replace('_host("fritz"),\n       _host("fritz")', '_host("fritz")'))
    assert duplicate_host_problems(str(path)) == []


def test_load_fleet_refuses_a_host_defined_twice_before_pyinfra_merges_it(tmp_path: Path):
    path = tmp_path / "inventory.py"
    path.write_text(HETZNER_STYLE)
    with pytest.raises(FleetError) as error:
        load_fleet(str(path))
    assert [problem.field for problem in error.value.problems] == ["host fritz"]
