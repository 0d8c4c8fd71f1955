"""`.env.production`: the one configuration every app host shares, rendered from the fleet.

It holds nothing host-specific (BIND and PORT live in the units), so it is byte-identical on every
app host: the cure for the config drift that took Hachyderm's media down.
"""

from __future__ import annotations

from mastofleet.model import Fleet, Problem, Role
from mastofleet.model.rules.environment import environment_keys
from mastofleet.model.secrets_reference import MASTODON_SECRETS, secret_name
from mastofleet.views.config_file import SecretValues
from mastofleet.views.redis_servers import redis_servers
from mastofleet.views.search import search_endpoint
from mastofleet.views.templating import render


def database_endpoint(fleet: Fleet) -> tuple[str, int]:
    """Where the app's connections go: pgbouncer when enabled, else Postgres itself; while the
    database migrates, straight to the old primary, which still takes every write."""
    if fleet.migrating_database:
        return fleet.primary_endpoint()
    address = str(fleet.db_host.private_address)
    port = fleet.pgbouncer.port if fleet.pgbouncer.enabled else fleet.postgres.port
    return address, port


def replica_endpoint(fleet: Fleet) -> tuple[str, int] | None:
    """Where the app's reads go (REPLICA_DB_*): the read replica's pgbouncer, or its Postgres."""
    if not fleet.replica_hosts:
        return None
    address = str(fleet.replica_hosts[0].private_address)
    return address, fleet.pgbouncer.port if fleet.pgbouncer.enabled else fleet.postgres.port


def render_environment(fleet: Fleet, secrets: SecretValues) -> str:
    """The text of `.env.production`."""
    address, port = database_endpoint(fleet)
    return render(
        "mastodon/env.production.j2",
        fleet=fleet,
        instance=fleet.instance,
        database_host=address,
        database_port=port,
        redis_servers=[(server, secrets[secret_name(server.settings.password)]) for server in redis_servers(fleet)],
        search=search_endpoint(fleet),
        through_pgbouncer=fleet.pgbouncer.enabled and not fleet.migrating_database,
        replica=replica_endpoint(fleet),
        mastodon_secrets={key: secrets[name] for key, name in MASTODON_SECRETS.items()},
        database_password=secrets[secret_name(fleet.postgres.password)],
        storage=fleet.object_storage if fleet.object_storage and fleet.object_storage.enabled else None,
        storage_access_key=(secrets[secret_name(fleet.object_storage.access_key)] if fleet.object_storage else ""),
        storage_secret_key=(secrets[secret_name(fleet.object_storage.secret_key)] if fleet.object_storage else ""),
        smtp=fleet.smtp,
        smtp_password=secrets[secret_name(fleet.smtp.password)] if fleet.smtp and fleet.smtp.password else "",
        monitored=fleet.monitor_host is not None,
    )


def duplicate_key_problems(fleet: Fleet) -> list[Problem]:
    """A key written twice (an operator's addition repeating one mastofleet writes): only the rendered
    file shows it. The model's rules check the added keys themselves (`model.rules.environment`)."""
    if not fleet.with_role(Role.db) or not fleet.with_role(Role.redis):
        return []  # reported by the roles rule; nothing to render without them
    keys = environment_keys(render_environment(fleet, SecretValues()))
    return [
        Problem("instance", f"extra_environment.{key}", f"'{key}' would be written twice", "set it in one place only")
        for key in sorted({key for key in keys if keys.count(key) > 1})
    ]
