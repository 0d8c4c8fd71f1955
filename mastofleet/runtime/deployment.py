"""What `deploy.py` does for each host: validate the whole fleet once, then apply its roles in order."""

from __future__ import annotations

import os
from functools import cache

from pyinfra import host as current_host
from pyinfra import inventory as current_inventory
from pyinfra.api.exceptions import PyinfraError

from mastofleet.deploys import registry
from mastofleet.deploys.component import Run, Stage
from mastofleet.deploys.operations import every_host_reached
from mastofleet.model import Fleet
from mastofleet.model.problems import FleetError, InventoryError
from mastofleet.plan.listeners import listener_problems
from mastofleet.project.fleet import fleet_from_inventory, fleet_host_name
from mastofleet.project.secrets import SecretError, SecretStore
from mastofleet.runtime import disk_guard, rollout, run_record
from mastofleet.views.config_file import SecretValues

ROLLBACK_RELEASE = "mastofleet_release"  # --data: deploy this already prepared release (a rollback)
HOLD_POST_MIGRATIONS = "mastofleet_hold_post_migrations"  # --data: keep a rollback possible (upgrade --keep-rollback)


@cache
def _fleet_and_secrets(inventory_id: int) -> tuple[Fleet, SecretValues]:
    project = os.getcwd()
    try:
        first = next(iter(current_inventory))
        store = SecretStore.for_fleet_data(first.data.dict(), project)
        fleet = fleet_from_inventory(current_inventory, store=store, project=project)
        # Two services on one port: the check `mastofleet check` makes, needing every role's openings.
        clashes = listener_problems(fleet)
        if clashes:
            raise FleetError(clashes)
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
    """Apply every role of the current host, stage by stage, in the order the fleet needs them.

    The stages are also the upgrade choreography: every app host prepares the new release while the
    old one serves; the pre-deployment migrations run once; `live` switches and Sidekiq restarts;
    web and streaming restart one host at a time out of the balancer; the full migrations run last.
    """
    fleet, secrets = current_fleet()
    host = fleet.host(fleet_host_name(current_host.name))
    run = Run(
        fleet,
        host,
        secrets,
        secrets_document=secrets_document,
        check_disk=lambda: disk_guard.require_healthy_disk(fleet, host),
        rollback_release=current_host.data.get(ROLLBACK_RELEASE),
        hold_post_migrations=str(current_host.data.get(HOLD_POST_MIGRATIONS) or "").lower() in ("true", "1", "yes"),
    )
    components = registry.on_host(fleet, host)
    # pyinfra tells operations apart, and matches them across hosts, by the line numbers of their
    # call stacks; every step below is called from one line, so the loop positions (stage, then
    # registry order), which pyinfra adds to an operation's identity, keep two roles' operations
    # apart and a meeting point the same operation on every host. They live on the host, not in
    # pyinfra's shared state: the CLI plans the hosts concurrently, in greenlets.
    for stage in current_host.loop(Stage):
        for component in current_host.loop(registry.COMPONENTS):
            step = component.steps.get(stage)
            if step is not None and component in components:
                step(run)
        _meeting_point(stage, run)
    run_record.record_on_host()


def _meeting_point(stage: Stage, run: Run) -> None:
    """What every host does together after a stage."""
    if stage is Stage.SERVICES:
        # db:setup and the migrations need the database and Redis: app hosts go on only once they are up.
        every_host_reached(name="PostgreSQL and Redis are ready", point="data services deployed")
    elif stage is Stage.START:
        rollout.one_host_at_a_time(run.fleet, run.host, run.pending)
