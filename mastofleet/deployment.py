"""What `deploy.py` does for each host: validate the whole fleet once, then apply its roles in order."""

from __future__ import annotations

import os
from functools import cache

from pyinfra import host as current_host
from pyinfra import inventory as current_inventory
from pyinfra.api.exceptions import PyinfraError

from mastofleet import run_record
from mastofleet.deploys import base, mastodon, nginx, pgbouncer, postgres, redis, sidekiq, streaming, web
from mastofleet.files import SecretValues
from mastofleet.fleet import fleet_from_inventory, fleet_host_name
from mastofleet.model import Fleet, Role
from mastofleet.problems import FleetError, InventoryError
from mastofleet.secrets import SecretError, SecretStore


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


def current_fleet() -> tuple[Fleet, SecretValues]:
    """The validated fleet of the inventory pyinfra is running, and its secrets (in memory only)."""
    from pyinfra.context import ctx_inventory

    # The module-level `inventory` is a proxy, the same object for every inventory: key on the real one.
    return _fleet_and_secrets(id(ctx_inventory.get()))


def deploy_current_host() -> None:
    """Apply every role of the current host, in the order the fleet needs them."""
    fleet, secrets = current_fleet()
    host = fleet.host(fleet_host_name(current_host.name))
    base.base(fleet, host)
    if host.has(Role.db):
        postgres.postgresql(fleet, host, secrets)
        if fleet.pgbouncer.enabled:
            pgbouncer.pgbouncer(fleet, host, secrets)
    if host.has(Role.redis):
        redis.redis(fleet, host, secrets)
    if host.has(Role.app):
        first = host.name == fleet.app_hosts[0].name
        application = mastodon.application(fleet, host, secrets, first_app_host=first)
        if host.web:
            web.web(fleet, host, application)
        if host.streaming:
            streaming.streaming(fleet, host, application)
        sidekiq.sidekiq(fleet, host, application)
        if first:
            mastodon.post_deployment_migrations(fleet, host)
    if host.has(Role.lb):
        nginx.load_balancer(fleet, host)
    run_record.record_on_host()
