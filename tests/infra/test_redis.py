"""Redis on the redis host: bound to loopback and the private address, refusing every client that
has not authenticated, accepting the password of `.env.production`.

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


def test_redis_service(redis_host: Target) -> None:
    assert_active_and_enabled(redis_host, ["redis-server.service"])


def test_redis_listens_on_loopback_and_private_address_only(redis_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    # bind 127.0.0.1 -::1 <private>: ::1 is optional ("-"), taken when the host has IPv6.
    assert_listening_only(
        redis_host, fleet.redis.port, {"127.0.0.1", str(redis_host.model.private_address)}, frozenset({"::1"})
    )


def test_redis_files(redis_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    rendered = redis.files_for(fleet, redis_host.model, SecretValues())
    assert (rendered[0].path, rendered[0].user, rendered[0].mode) == ("/etc/redis/redis.conf", "redis", "640")
    assert_files_as_rendered(redis_host, rendered)


def test_redis_refuses_unauthenticated_clients(redis_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    address = shlex.quote(str(redis_host.model.private_address))
    result = redis_host.run(f"REDISCLI_AUTH= redis-cli --no-auth-warning -h {address} -p {fleet.redis.port} ping")
    assert result.stdout.strip().startswith("NOAUTH"), f"{redis_host.name}: redis-cli ping answered {result.stdout!r}"


def test_app_host_authenticates_with_its_env_password(app_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """From the app host, with REDIS_PASSWORD of its .env.production: AUTH, then PING -> PONG."""
    env = mastodon.shared_environment_path(fleet.instance)
    password = environment_secret(app_host, env, "REDIS_PASSWORD")
    result = probe(app_host, ["redis", str(fleet.redis_host.private_address), str(fleet.redis.port)], password=password)
    assert result["unauthenticated"].startswith("-NOAUTH"), f"{app_host.name}: {result}"
    assert result["authenticated"] == "+PONG", f"{app_host.name}: {result}"


def test_others_get_noauth(prober: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """From a host without the app role and from outside: TCP connects (no firewall yet), but an
    unauthenticated PING gets NOAUTH and a wrong password WRONGPASS."""
    result = probe(
        prober,
        ["redis", str(fleet.redis_host.private_address), str(fleet.redis.port)],
        password=Secret("a wrong password", "not-the-password"),
    )
    assert result["tcp"] == "open", f"{prober.name}: {result}"
    assert (result["unauthenticated"] or "").startswith("-NOAUTH"), f"{prober.name}: {result}"
    assert (result["authenticated"] or "").startswith("-WRONGPASS"), f"{prober.name}: {result}"
