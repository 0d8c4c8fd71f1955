"""Redis servers: each bound to loopback and the private address, refusing every client that has not
authenticated, accepting the password of `.env.production` (REDIS_*, and CACHE_REDIS_* / SIDEKIQ_REDIS_*
for a cache or Sidekiq Redis of their own); the cache keeps nothing on disk, the others persist.

There is no firewall role yet: from a host without the app role and from outside the fleet the TCP
connection to Redis is accepted, and Redis must answer NOAUTH (the firewall issue will make the port
unreachable from outside). The outside machine is known only for the local inventory (`outsider`);
with another inventory that probe is skipped, the one from fleet hosts without the app role runs.
"""

from __future__ import annotations

import shlex

from infra_support import (
    Secret,
    Target,
    assert_active_and_enabled,
    assert_files_as_rendered,
    assert_listening_only,
    environment_secret,
    probe,
)

from mastofleet.deploys import mastodon, redis
from mastofleet.files import SecretValues
from mastofleet.redis_servers import RedisServer, redis_servers

RedisUnderTest = tuple[Target, RedisServer]


def test_redis_service(redis_server: RedisUnderTest) -> None:
    target, server = redis_server
    assert_active_and_enabled(target, [server.purpose.service])


def test_redis_listens_on_loopback_and_private_address_only(redis_server: RedisUnderTest) -> None:
    # bind 127.0.0.1 -::1 <private>: ::1 is optional ("-"), taken when the host has IPv6.
    target, server = redis_server
    assert_listening_only(target, server.settings.port, {"127.0.0.1", server.address}, frozenset({"::1"}))


def test_redis_files(redis_server: RedisUnderTest, fleet) -> None:  # type: ignore[no-untyped-def]
    target, server = redis_server
    (rendered,) = [
        item for item in redis.files_for(fleet, target.model, SecretValues()) if item.path == server.purpose.config_path
    ]
    assert (rendered.user, rendered.mode) == ("redis", "640")
    assert_files_as_rendered(target, [rendered])


def test_redis_keeps_to_disk_what_it_should(redis_server: RedisUnderTest) -> None:
    """The cache writes no snapshot and no append-only file; the main and Sidekiq Redis write both."""
    target, server = redis_server
    config = shlex.quote(server.purpose.config_path)
    command = (
        f"REDISCLI_AUTH=$(awk '/^requirepass /{{print $2}}' {config}) redis-cli --no-auth-warning"
        f" -p {server.settings.port} CONFIG GET appendonly"
    )
    answer = target.output(command).split()
    assert answer == ["appendonly", "yes" if server.purpose.persistent else "no"], f"{target.name}: {answer}"


def test_redis_refuses_unauthenticated_clients(redis_server: RedisUnderTest) -> None:
    target, server = redis_server
    address = shlex.quote(server.address)
    result = target.run(f"REDISCLI_AUTH= redis-cli --no-auth-warning -h {address} -p {server.settings.port} ping")
    assert result.stdout.strip().startswith("NOAUTH"), f"{target.name}: redis-cli ping answered {result.stdout!r}"


def test_app_host_authenticates_with_its_env_password(app_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """From the app host, with each server's password from its .env.production: AUTH, then PING -> PONG."""
    env = mastodon.shared_environment_path(fleet.instance)
    for server in redis_servers(fleet):
        password = environment_secret(app_host, env, f"{server.purpose.environment_prefix}REDIS_PASSWORD")
        result = probe(app_host, ["redis", server.address, str(server.settings.port)], password=password)
        assert result["unauthenticated"].startswith("-NOAUTH"), f"{app_host.name} {server.purpose.name}: {result}"
        assert result["authenticated"] == "+PONG", f"{app_host.name} {server.purpose.name}: {result}"


def test_others_get_noauth(prober: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """From a host without the app role and from outside: TCP connects (no firewall yet), but an
    unauthenticated PING gets NOAUTH and a wrong password WRONGPASS, on every Redis server."""
    for server in redis_servers(fleet):
        result = probe(
            prober,
            ["redis", server.address, str(server.settings.port)],
            password=Secret("a wrong password", "not-the-password"),
        )
        assert result["tcp"] == "open", f"{prober.name} {server.purpose.name}: {result}"
        assert (result["unauthenticated"] or "").startswith("-NOAUTH"), f"{prober.name}: {result}"
        assert (result["authenticated"] or "").startswith("-WRONGPASS"), f"{prober.name}: {result}"
