"""Redis servers: each bound to loopback and the private address, refusing every client that has not
authenticated, accepting the password of `.env.production` (REDIS_*, and CACHE_REDIS_* / SIDEKIQ_REDIS_*
for a cache or Sidekiq Redis of their own); the cache keeps nothing on disk, the others persist.

The app logs in as its own ACL user, which may neither administer nor wipe the server; the nameless
default user is off. From a host without the app role and from outside the fleet the firewall drops
the connection; a fleet without the firewall must still answer them NOAUTH. The outside machine is
known only for the local inventory (`outsider`); with another inventory that probe is skipped, the one
from fleet hosts without the app role runs.
"""

from __future__ import annotations

import shlex

from infra_support import (
    Secret,
    Target,
    assert_active_and_enabled,
    assert_files_as_rendered,
    assert_listening_only,
    dropped_by_firewall,
    environment_secret,
    probe,
)

from mastofleet.deploys import mastodon, redis
from mastofleet.plan.files import SecretValues
from mastofleet.views.redis_servers import RedisServer, redis_servers

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
    """The cache writes no snapshot and no append-only file; the main and Sidekiq Redis write both
    (asked as the operators' admin user, whose password is on the Redis host only, root's)."""
    target, server = redis_server
    assert target.output(f"stat -c '%U %a' {redis.ADMIN_PASSWORD_FILE}").split() == ["root", "600"]
    command = (
        f"REDISCLI_AUTH=$(cat {redis.ADMIN_PASSWORD_FILE}) redis-cli --no-auth-warning --user {redis.ADMIN_USER}"
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
    """From the app host, with each server's user and password from its .env.production: AUTH, then
    PING -> PONG; the same password without the user name (the default user, which is off) is refused."""
    env = mastodon.shared_environment_path(fleet.instance)
    for server in redis_servers(fleet):
        prefix = server.purpose.environment_prefix
        password = environment_secret(app_host, env, f"{prefix}REDIS_PASSWORD")
        address = ["redis", server.address, str(server.settings.port)]
        result = probe(app_host, [*address, server.settings.app_user], password=password)
        assert result["unauthenticated"].startswith("-NOAUTH"), f"{app_host.name} {server.purpose.name}: {result}"
        assert result["authenticated"] == "+PONG", f"{app_host.name} {server.purpose.name}: {result}"
        nameless = probe(app_host, address, password=password)
        assert (nameless["authenticated"] or "").startswith("-WRONGPASS"), f"{server.purpose.name}: {nameless}"


def test_the_app_user_may_not_administer_or_wipe_redis(app_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """As the app's user: CONFIG, FLUSHALL, SHUTDOWN, DEBUG, ACL are refused (NOPERM); ordinary commands work."""
    env = mastodon.shared_environment_path(fleet.instance)
    forbidden = ["CONFIG GET maxmemory", "FLUSHALL", "SHUTDOWN NOSAVE", "DEBUG SLEEP 0", "ACL LIST"]
    allowed = ["PING", "SET mastofleet:acl-probe 1", "DEL mastofleet:acl-probe", "INFO server"]
    for server in redis_servers(fleet):
        password = environment_secret(app_host, env, f"{server.purpose.environment_prefix}REDIS_PASSWORD")
        arguments = ["redis-commands", server.address, str(server.settings.port), server.settings.app_user]
        result = probe(app_host, [*arguments, *allowed, *forbidden], password=password)
        replies = result["replies"]
        assert result["auth"] == "+OK", f"{app_host.name} {server.purpose.name}: {result['auth']}"
        assert [replies[command][:1] for command in allowed] == ["+", "+", ":", "$"], replies
        allowed_anyway = {command: replies[command] for command in forbidden if not refuses(replies[command])}
        assert not allowed_anyway, f"{app_host.name} {server.purpose.name}: the app's user may run {allowed_anyway}"


def refuses(reply: str) -> bool:
    """NOPERM from the ACL; DEBUG is refused to every client before the ACL is asked unless the
    server sets enable-debug-command (Debian's Redis 8 does not), with its own error."""
    return reply.startswith("-NOPERM") or reply.startswith("-ERR DEBUG command not allowed")


def test_others_get_noauth(prober: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """From a host without the app role and from outside: the firewall drops the connection; without
    the firewall an unauthenticated PING gets NOAUTH and a wrong password WRONGPASS, on every Redis server."""
    for server in redis_servers(fleet):
        result = probe(
            prober,
            ["redis", server.address, str(server.settings.port)],
            password=Secret("a wrong password", "not-the-password"),
        )
        if dropped_by_firewall(
            fleet, prober, result, f"the {server.purpose.name} Redis", (server.address, server.settings.port)
        ):
            continue
        assert result["tcp"] == "open", f"{prober.name} {server.purpose.name}: {result}"
        assert (result["unauthenticated"] or "").startswith("-NOAUTH"), f"{prober.name}: {result}"
        assert (result["authenticated"] or "").startswith("-WRONGPASS"), f"{prober.name}: {result}"
