"""Every role, once, in order: the only place that says which roles exist.

The order is the deploy's within each stage, the order of a host's files and of its firewall
rules. `render` (`mastofleet.plan.files`), the deploy (`mastofleet.runtime.deployment`), the firewall
(`mastofleet.plan.firewall`), and `status`/`doctor` (`mastofleet.plan.services`) read it. Roles never
import it: the two that need every role's openings (firewall, retirement) are handed `openings`,
the two that need every role's metrics endpoints (exporters, monitoring) are handed `metrics`.
"""

from __future__ import annotations

from mastofleet.deploys import (
    backup,
    base,
    db_replica,
    edge,
    exporters,
    firewall,
    mastodon,
    mastodon_exporter,
    media_migration,
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
from mastofleet.deploys.component import Component
from mastofleet.model import Fleet, Host
from mastofleet.views.metrics_endpoints import MetricsEndpoint, in_job_order
from mastofleet.views.openings import Opening


def openings(fleet: Fleet, host: Host) -> list[Opening]:
    """Everything the roles of `host` declare open, in role order (retired hosts let in)."""
    return [opening for component in on_host(fleet, host) for opening in component.openings(fleet, host)]


def metrics(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    """Every metrics endpoint the roles of `host` declare, job by job (none without a monitor host)."""
    return in_job_order(item for component in on_host(fleet, host) for item in component.metrics(fleet, host))


COMPONENTS: tuple[Component, ...] = (
    base.COMPONENT,
    operators.COMPONENT,
    firewall.component(openings),
    postgres.COMPONENT,
    pgbouncer.COMPONENT,
    redis.COMPONENT,
    backup.COMPONENT,
    db_replica.COMPONENT,
    standby.COMPONENT,
    search.COMPONENT,
    mastodon.COMPONENT,
    sidekiq.COMPONENT,
    mastodon_exporter.COMPONENT,
    web.COMPONENT,
    streaming.COMPONENT,
    nginx.COMPONENT,
    retirement.component(openings),
    edge.COMPONENT,
    media_migration.COMPONENT,
    exporters.component(metrics),
    monitoring.component(metrics),
)


def on_host(fleet: Fleet, host: Host) -> list[Component]:
    """The components that apply to `host`, in registry order."""
    return [component for component in COMPONENTS if component.applies(fleet, host)]


def by_name(name: str) -> Component:
    (component,) = [component for component in COMPONENTS if component.name == name]
    return component
