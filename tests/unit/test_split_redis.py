"""Split Redis in the model: a cache Redis and a Sidekiq Redis beside the main one, rendered into
their own configuration files and written as CACHE_REDIS_* / SIDEKIQ_REDIS_* for the app; the rules
that refuse a split the app could not use; the deploy plan of a host that runs all three."""

from __future__ import annotations

from fleet_builder import build, default_fleet_data, host_data, problems_of
from plans import SECRET_VALUES, plan_host

from mastofleet.deploys import redis
from mastofleet.plan.files import SecretValues
from mastofleet.views.environment import render_environment
from mastofleet.views.redis_servers import MAXCLIENTS, connection_estimate, redis_servers
from mastofleet.views.report import fleet_table

IRMA = {"private_address": "10.0.1.20", "public_address": "203.0.113.20"}


def split_on_nixie(hosts, common) -> None:
    for host in hosts:
        if host["name"] == "nixie":
            host["groups"] += ["redis_cache", "redis_sidekiq"]


def environment_of(fleet) -> dict[str, str]:
    text = render_environment(fleet, SecretValues(SECRET_VALUES))
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_one_redis_serves_everything_and_the_app_gets_only_redis_keys() -> None:
    hosts, common = default_fleet_data()
    fleet = build(hosts, common)
    environment = environment_of(fleet)
    assert (environment["REDIS_HOST"], environment["REDIS_PORT"]) == ("10.0.1.2", "6379")
    assert not [key for key in environment if key.startswith(("CACHE_REDIS", "SIDEKIQ_REDIS", "ES_"))]
    assert "cache_redis_password" not in fleet.referenced_secrets()


def test_cache_and_sidekiq_redis_on_their_own_host_reach_the_app() -> None:
    hosts, common = default_fleet_data()
    hosts.append({"name": "irma", "groups": ["redis_cache", "redis_sidekiq"], "data": dict(IRMA)})
    fleet = build(hosts, common)
    environment = environment_of(fleet)
    assert environment["REDIS_HOST"] == "10.0.1.2"
    assert (environment["CACHE_REDIS_HOST"], environment["CACHE_REDIS_PORT"]) == ("10.0.1.20", "6380")
    assert (environment["SIDEKIQ_REDIS_HOST"], environment["SIDEKIQ_REDIS_PORT"]) == ("10.0.1.20", "6381")
    # each server its own password (Mastodon does not fall back to REDIS_PASSWORD for them)
    assert environment["CACHE_REDIS_PASSWORD"] == SECRET_VALUES["cache_redis_password"]
    assert environment["SIDEKIQ_REDIS_PASSWORD"] == SECRET_VALUES["sidekiq_redis_password"]
    assert {"cache_redis_password", "sidekiq_redis_password"} <= fleet.referenced_secrets()
    assert [file.path for file in redis.files_for(fleet, fleet.host("irma"), SecretValues())] == [
        "/etc/redis/redis-cache.conf",
        "/etc/redis/redis-sidekiq.conf",
    ]
    assert [file.path for file in redis.files_for(fleet, fleet.host("nixie"), SecretValues())] == [
        "/etc/redis/redis.conf"
    ]


def config_lines(fleet, host: str, path: str) -> list[str]:
    (rendered,) = [item for item in redis.files_for(fleet, fleet.host(host), SecretValues()) if item.path == path]
    assert rendered.sensitive and (rendered.user, rendered.mode) == ("redis", "640")
    return rendered.content.splitlines()


def test_the_cache_keeps_nothing_on_disk_and_evicts_least_recently_used_keys() -> None:
    hosts, common = default_fleet_data()
    split_on_nixie(hosts, common)
    common["redis_cache"] = {"maxmemory_mb": 512, "maxmemory_policy": "allkeys-lfu"}
    fleet = build(hosts, common)
    cache = config_lines(fleet, "nixie", "/etc/redis/redis-cache.conf")
    for line in ('save ""', "appendonly no", "maxmemory 512mb", "maxmemory-policy allkeys-lfu", "port 6380"):
        assert line in cache, line
    assert "dir /var/lib/redis/cache" in cache and "pidfile /run/redis-cache/redis-server.pid" in cache
    assert not [line for line in cache if line.startswith(("dbfilename", "appendfsync"))]
    sidekiq = config_lines(fleet, "nixie", "/etc/redis/redis-sidekiq.conf")
    for line in ("appendonly yes", "appendfsync everysec", "port 6381", "dir /var/lib/redis/sidekiq"):
        assert line in sidekiq, line
    assert not [line for line in sidekiq if line.startswith("maxmemory")]  # a job queue never evicts
    main = config_lines(fleet, "nixie", "/etc/redis/redis.conf")
    assert "dir /var/lib/redis" in main and "pidfile /run/redis/redis-server.pid" in main


def test_a_bounded_sidekiq_redis_refuses_writes_rather_than_losing_jobs() -> None:
    hosts, common = default_fleet_data()
    split_on_nixie(hosts, common)
    common["redis_sidekiq"] = {"maxmemory_mb": 2048}
    sidekiq = config_lines(build(hosts, common), "nixie", "/etc/redis/redis-sidekiq.conf")
    assert "maxmemory 2048mb" in sidekiq and "maxmemory-policy noeviction" in sidekiq


def test_two_redis_on_one_port_of_a_host_are_refused() -> None:
    hosts, common = default_fleet_data()
    split_on_nixie(hosts, common)
    common["redis_sidekiq"] = {"port": 6379}
    problems, text = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("nixie", "redis_sidekiq.port")]
    assert "port 6379" in text and "main" in text and "give one of them another port" in text


def test_the_same_port_on_two_hosts_is_fine() -> None:
    hosts, common = default_fleet_data()
    hosts.append({"name": "irma", "groups": ["redis_sidekiq"], "data": dict(IRMA)})
    common["redis_sidekiq"] = {"port": 6379}
    build(hosts, common)


def test_a_second_cache_host_is_refused() -> None:
    hosts, common = default_fleet_data()
    hosts.append({"name": "irma", "groups": ["redis_cache"], "data": dict(IRMA)})
    split_on_nixie(hosts, common)
    problems, text = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("fleet", "roles")]
    assert "2 hosts have the role redis_cache (nixie, irma)" in text


def test_settings_for_a_redis_no_host_runs_are_refused() -> None:
    hosts, common = default_fleet_data()
    common["redis_cache"] = {"maxmemory_mb": 256}
    problems, text = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("redis_cache", "(section)")]
    assert "no host is in the group 'redis_cache'" in text


def test_a_cache_without_memory_bound_is_refused() -> None:
    hosts, common = default_fleet_data()
    split_on_nixie(hosts, common)
    common["redis_cache"] = {"maxmemory_mb": None}
    problems, _ = problems_of(hosts, common)
    assert [(problem.where, problem.field) for problem in problems] == [("fleet", "redis_cache.maxmemory_mb")]


def test_the_connection_estimate_follows_the_split() -> None:
    hosts, common = default_fleet_data()
    fleet = build(hosts, common)
    (only,) = redis_servers(fleet)
    assert connection_estimate(fleet, only)[0] == 487
    split_on_nixie(hosts, common)
    fleet = build(hosts, common)
    totals = {server.purpose.name: connection_estimate(fleet, server)[0] for server in redis_servers(fleet)}
    # the same connections, now spread: main keeps streaming and feeds, Sidekiq's internal pools go to its own
    assert totals == {"main": 117, "cache": 105, "sidekiq": 265}
    lines = fleet_table(fleet).splitlines()
    assert "redis cache on nixie 10.0.1.2:6380 [Rails cache] (no persistence, maxmemory 1024 MB allkeys-lru);" in (
        " ".join(lines)
    )
    assert any(line.startswith("redis sidekiq on nixie 10.0.1.2:6381 [Sidekiq queues] (persistent)") for line in lines)


def test_more_connections_than_redis_accepts_are_refused() -> None:
    hosts, common = default_fleet_data()
    for name in ("freud", "fritz", "franz"):
        host_data(hosts, name)["web"] = {"processes": 64, "threads": 64}
    common["pgbouncer"] = {**common["pgbouncer"], "max_client_connections": 100000}
    problems, text = problems_of(hosts, common)
    assert ("nixie", "connections") in [(problem.where, problem.field) for problem in problems]
    assert f"of maxclients {MAXCLIENTS}" in text


def test_a_host_running_three_redis_plans_each_and_retires_none(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    split_on_nixie(hosts, common)
    plan = plan_host("nixie", hosts, common)
    for service in ("redis-server.service", "redis-server@cache.service", "redis-server@sidekiq.service"):
        assert f"Redis | Enable and start {service}" in plan.names, service
    assert "Redis | Create the data directory of the cache Redis" in plan.names
    assert not [name for name in plan.names if "Stop and disable" in name]


def test_a_host_that_no_longer_runs_a_cache_redis_stops_it(secrets_in_environment) -> None:
    from plans import existing_file

    hosts, common = default_fleet_data()
    plan = plan_host("nixie", hosts, common, {"nixie": existing_file("/etc/redis/redis-cache.conf")})
    assert "Redis | Stop and disable redis-server@cache.service (not a Redis of this host)" in plan.names
    assert "Redis | Remove /etc/redis/redis-cache.conf" in plan.names
    assert "Redis | Stop and disable redis-server@sidekiq.service (not a Redis of this host)" not in plan.names
    assert "Redis | Stop and disable redis-server.service (not a Redis of this host)" not in plan.names


def test_a_host_with_only_the_cache_redis_stops_debians_default_instance(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    hosts.append({"name": "irma", "groups": ["redis_cache"], "data": dict(IRMA)})
    plan = plan_host("irma", hosts, common)
    assert "Redis | Enable and start redis-server@cache.service" in plan.names
    assert "Redis | Stop and disable redis-server.service (not a Redis of this host)" in plan.names
