"""What listens where, the hosts' addresses, and each host's memory budget (issue 16, parts 2 and 4)."""

from __future__ import annotations

import pytest
from fleet_builder import build, default_fleet_data, host_data, only, problems_of, process

from mastofleet.model.problems import Problem
from mastofleet.model.rules.memory import shares
from mastofleet.plan.listeners import listener_problems, listeners, listeners_table

# --- listeners --------------------------------------------------------------------------------


def test_the_default_fleet_has_one_service_per_port():
    fleet = build(*default_fleet_data())
    assert listener_problems(fleet) == []
    rows = {(item.port, item.service, item.address) for item in listeners(fleet, fleet.host("freud"))}
    assert (3000, "puma", "10.0.1.3") in rows and (4001, "streaming@4001", "10.0.1.3") in rows
    # sshd answers the operators from the internet; Prometheus is one listener with two doors
    assert (22, "ssh", "0.0.0.0") in {
        (item.port, item.service, item.address) for item in listeners(fleet, fleet.host("nixie"))
    }
    assert [item.service for item in listeners(fleet, fleet.host("nixie"))].count("prometheus") == 1


def test_the_table_names_every_column():
    text = listeners_table(build(*default_fleet_data()))
    assert text.splitlines()[0].split() == ["host", "address", "port", "protocol", "service", "reachable", "from"]
    assert "esme   0.0.0.0   443   tcp       edge https         anyone" in text


@pytest.mark.parametrize(
    ("port", "other", "fix"),
    [
        (9100, "metrics node", "give one of them another port (web.port)"),
        (9394, "metrics mastodon", "give one of them another port (web.port)"),
        (22, "ssh", "give one of them another port (web.port)"),
    ],
)
def test_puma_on_a_port_another_service_of_the_host_uses(fleet_data, port, other, fix):
    hosts, common = fleet_data
    host_data(hosts, "fritz")["web"] = {"port": port}
    problem = only(listener_problems(build(hosts, common)))
    first, second = ("ssh", "puma") if port == 22 else ("puma", other)
    assert problem == Problem(
        "fritz",
        f"port {port}/tcp",
        f"{first} and {second} would both listen on port {port}; one would fail to start",
        fix,
    )


def test_pgbouncer_on_the_redis_port(fleet_data):
    hosts, common = fleet_data
    common["pgbouncer"]["port"] = 6379
    problem = only(listener_problems(build(hosts, common)))
    assert (problem.where, problem.field) == ("nixie", "port 6379/tcp")
    assert problem.fix == "give one of them another port (pgbouncer.port, redis.port)"


def test_postgres_on_the_node_exporter_port(fleet_data):
    hosts, common = fleet_data
    common["postgres"]["port"] = 9100
    problem = only(listener_problems(build(hosts, common)))
    assert problem.message == "postgresql and metrics node would both listen on port 9100; one would fail to start"


def test_a_streaming_process_on_the_exporter_port(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "franz")["streaming"] = {"ports": [4000, 9394]}
    problem = only(listener_problems(build(hosts, common)))
    assert (
        problem.message == "streaming@9394 and metrics mastodon would both listen on port 9394; one would fail to start"
    )
    assert problem.fix == "give one of them another port (streaming.ports)"


def test_nginx_on_the_port_of_two_fixed_roles(fleet_data):
    hosts, common = fleet_data
    common["redis"]["port"] = 443
    problem = only(listener_problems(build(hosts, common)))
    assert problem.message == "redis main and nginx https would both listen on port 443; one would fail to start"


# --- addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "kind"), [("10.0.0.0", "network"), ("10.0.255.255", "broadcast")])
def test_a_host_on_the_network_or_broadcast_address(fleet_data, address, kind):
    hosts, common = fleet_data
    host_data(hosts, "esme")["private_address"] = address
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "esme",
        "private_address",
        f"{address} is the {kind} address of 10.0.0.0/16, not a host's",
        "pick an address between 10.0.0.1 and 10.0.255.254",
    )


def test_a_host_outside_the_private_network(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "esme")["private_address"] = "192.168.1.6"
    problem = only(problems_of(hosts, common)[0])
    assert problem.message == "192.168.1.6 is outside the private network 10.0.0.0/16"


# --- memory -----------------------------------------------------------------------------------


def test_an_app_host_over_its_memory(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "freud").update(memory_mb=4096, web={"processes": 4, "threads": 10})
    problem = only(problems_of(hosts, common)[0])
    assert (problem.where, problem.field) == ("freud", "memory")
    assert problem.message == (
        "its services may use system (kernel, sshd, nginx, exporters) = 512 MB"
        " + Puma 4 x (400 + 10 threads x 30) = 2800 MB"
        " + Sidekiq default (400 + 10 threads x 40) = 800 MB"
        " + Sidekiq ingress (400 + 5 threads x 40) = 600 MB"
        " + Sidekiq scheduler (400 + 5 threads x 40) = 600 MB"
        " + streaming 2 x 150 = 300 MB: 5612 MB, more than its 4096 MB (memory_mb)"
    )
    assert problem.fix.startswith("lower the largest term (Puma: fewer processes or threads), give freud more memory")


def test_a_sidekiq_process_too_big_for_the_server_type(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "fritz")["server_type"] = "cpx22"  # 4 GB
    process(hosts, "fritz", "pull")["threads"] = 60
    process(hosts, "fritz", "pull")["db_pool"] = 60
    common["postgres"]["max_connections"] = 400
    problem = only(problems_of(hosts, common)[0])
    assert problem.message.endswith("more than its 4096 MB (server type cpx22)")
    assert "Sidekiq pull (400 + 60 threads x 40) = 2800 MB" in problem.message
    assert "(Sidekiq pull: fewer processes or threads)" in problem.fix


def test_postgres_tuned_for_more_memory_than_its_host(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "nixie")["server_type"] = "ccx13"  # 8 GB
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "nixie",
        "postgres.memory_mb",
        "PostgreSQL is tuned for 16384 MB, but nixie has 8192 MB (server type ccx13)",
        "set postgres.memory_mb to at most 8192, or give nixie more memory",
    )


def test_postgres_connections_and_redis_count_on_the_db_host(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "nixie")["memory_mb"] = 16384
    common["redis"]["maxmemory_mb"] = 8192
    fleet = build(hosts, common)  # 16312 MB of 16384: it fits, just
    assert [str(share) for share in shares(fleet, fleet.host("nixie"))][1:] == [
        "PostgreSQL (shared_buffers 4096 + 300 connections x 10) = 7096 MB",
        "Redis (maxmemory) = 8192 MB",
    ]


def test_the_db_host_over_budget_with_redis(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "nixie")["memory_mb"] = 16384
    common["redis"]["maxmemory_mb"] = 9000
    problem = only(problems_of(hosts, common)[0])
    assert problem.message.endswith(": 16608 MB, more than its 16384 MB (memory_mb)")
    assert "(Redis: fewer processes or threads)" in problem.fix


def test_the_override_lets_an_operator_who_measured_go_ahead(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "freud").update(memory_mb=4096, web={"processes": 4, "threads": 10}, allow_memory_overcommit=True)
    assert build(hosts, common).host("freud").allow_memory_overcommit


def test_a_host_of_unknown_memory_is_not_budgeted(fleet_data):
    hosts, common = fleet_data
    host_data(hosts, "freud")["web"] = {"processes": 40, "threads": 5}
    common["postgres"]["max_connections"] = 1000
    assert build(hosts, common).host("freud").memory_mb is None
