"""What `deploy.py` does for each host: validate the whole fleet once, then apply its roles in order."""

from __future__ import annotations

import os
from functools import cache

from pyinfra import host as current_host
from pyinfra import inventory as current_inventory
from pyinfra.api.exceptions import PyinfraError

from mastofleet import disk_guard, rollout, run_record
from mastofleet.deploys import (
    backup,
    base,
    db_replica,
    edge,
    exporters,
    firewall,
    mastodon,
    mastodon_exporter,
    monitoring,
    nginx,
    operators,
    pgbouncer,
    postgres,
    redis,
    retirement,
    search,
    sidekiq,
    standby,
    streaming,
    web,
)
from mastofleet.deploys.units import PendingRestart
from mastofleet.files import SecretValues
from mastofleet.fleet import fleet_from_inventory, fleet_host_name
from mastofleet.model import Fleet, Role
from mastofleet.operations import every_host_reached
from mastofleet.problems import FleetError, InventoryError
from mastofleet.redis_servers import REDIS_ROLES
from mastofleet.secrets import SecretError, SecretStore

ROLLBACK_RELEASE = "mastofleet_release"  # --data: deploy this already prepared release (a rollback)


@cache
def _fleet_and_secrets(inventory_id: int) -> tuple[Fleet, SecretValues]:
    project = os.getcwd()
    try:
        first = next(iter(current_inventory))
        store = SecretStore.for_fleet_data(first.data.dict(), project)
        fleet = fleet_from_inventory(current_inventory, store=store, project=project)
        values = store.reveal_all(sorted(fleet.referenced_secrets()))
    except (FleetError, InventoryError, SecretError) as error:
        # Raised while pyinfra prepares the first host: nothing has been changed anywhere yet.
        raise PyinfraError(f"mastofleet refuses to deploy: {error}") from None
    return fleet, SecretValues(values)


def secrets_document() -> str | None:
    """The fleet's age-encrypted secrets file as it is (backed up next to the database)."""
    first = next(iter(current_inventory))
    path = SecretStore.for_fleet_data(first.data.dict(), os.getcwd()).path
    return path.read_text() if path is not None and path.is_file() else None


def current_fleet() -> tuple[Fleet, SecretValues]:
    """The validated fleet of the inventory pyinfra is running, and its secrets (in memory only)."""
    from pyinfra.context import ctx_inventory

    # The module-level `inventory` is a proxy, the same object for every inventory: key on the real one.
    return _fleet_and_secrets(id(ctx_inventory.get()))


def deploy_current_host() -> None:
    """Apply every role of the current host, in the order the fleet needs them.

    The order is also the upgrade choreography: every app host prepares the new release while the
    old one serves; the pre-deployment migrations run once; `live` switches and Sidekiq restarts;
    web and streaming restart one host at a time out of the balancer; the full migrations run last.
    """
    fleet, secrets = current_fleet()
    host = fleet.host(fleet_host_name(current_host.name))
    rollback_release = current_host.data.get(ROLLBACK_RELEASE)
    if not host.has(Role.retired):
        base.base(fleet, host)
        operators.operators(fleet, host)
        firewall.firewall(fleet, host)
    kept = frozenset[str]()
    if host.has(Role.db) or host.has(Role.db_replica):
        disk_guard.require_healthy_disk(fleet, host)
        kept = retirement.still_allowed(fleet)
    if host.has(Role.db):
        postgres.postgresql(fleet, host, secrets, kept)
        if fleet.pgbouncer.enabled:
            pgbouncer.pgbouncer(fleet, host, secrets, kept)
        backup.database_backups(fleet, host, secrets)
    if host.has(Role.db_replica):
        db_replica.db_replica(fleet, host, secrets, kept)
    if host.has(Role.db) or host.has(Role.db_replica):
        standby.build_where_needed(fleet, host)  # one operation the primary and its replicas share
    if any(host.has(role) for role in REDIS_ROLES):
        redis.redis(fleet, host, secrets)
    if host.has(Role.redis):
        backup.side_files(fleet, host, secrets, secrets_document())
    if host.has(Role.search):
        search.search(fleet, host)
    # db:setup and the migrations need the database and Redis: app hosts go on only once they are up.
    every_host_reached(name="PostgreSQL and Redis are ready", point="data services deployed")
    first = bool(fleet.app_hosts) and host.name == fleet.app_hosts[0].name
    prepared = None
    if host.has(Role.app):
        prepared = mastodon.prepare(fleet, host, secrets, first_app_host=first, release_name=rollback_release)
        if first:
            search.create_indices(fleet, host, mastodon.release_for(fleet.instance, rollback_release))
    if host.has(Role.lb):
        nginx.load_balancer(fleet, host)
    pending: list[PendingRestart] = []
    if prepared is not None:
        application = mastodon.switch_release(fleet, host, prepared)
        sidekiq.sidekiq(fleet, host, application)
        if fleet.monitor_host:
            mastodon_exporter.mastodon_exporter(fleet, host, application)
        if host.web:
            pending += web.web(fleet, host, application)
        if host.streaming:
            pending += streaming.streaming(fleet, host, application)
    rollout.one_host_at_a_time(fleet, host, pending)
    retirement.retire(fleet, host, secrets, kept)
    if first and not rollback_release:
        mastodon.post_deployment_migrations(fleet, host)
    if host.has(Role.edge):
        edge.edge(fleet, host, secrets)
    if fleet.monitor_host and not host.has(Role.retired):
        exporters.exporters(fleet, host, secrets)
    if host.has(Role.monitor):
        monitoring.monitoring(fleet, host, secrets)
    run_record.record_on_host()
